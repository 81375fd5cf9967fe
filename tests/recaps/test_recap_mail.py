"""The recap's email (issue 17): queued when a recap is first published, to the confirmed
subscribers who asked for recaps, as a real SMTP server receives it: the link to the public
recap, the result in a line, one-click unsubscribe. Publishing again sends nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from events.models import Event, Mailing, MailingKind, Subscriber
from recaps.services import recap_publish
from tests.recaps.known_votes import build_known_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def ended(event):
    build_known_event(event)
    event.refresh_from_db()
    now = timezone.now()
    lists = {
        "recaps@example.org": {"wants_recaps": True, "wants_announcements": False},
        "news-only@example.org": {"wants_recaps": False, "wants_announcements": True},
    }
    for address, wants in lists.items():
        Subscriber.objects.create(
            email=address, consented_at=now, confirmed_at=now, source_event=event, **wants
        )
    Subscriber.objects.create(email="unconfirmed@example.org", consented_at=now, source_event=event)
    return event


def test_the_recap_email_as_received_links_the_recap_with_the_result(smtp, ended, organiser):
    recap_publish(event=ended, publish=True, by=organiser)
    [message] = smtp.accepted
    assert message["To"] == "recaps@example.org"
    assert message["Subject"] == f"The recap: {ended.title}"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    recap_url = "https://debates.example.org" + reverse("recaps:recap", args=[ended.slug])
    assert recap_url in text and recap_url in html
    # The verdict the recap shows (tests/recaps/known_votes.py works it out: evenly split).
    assert "The room was evenly split." in text
    assert message["List-Unsubscribe"].startswith("<https://debates.example.org/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert list(message.iter_attachments()) == []
    mailing = Mailing.objects.get(kind=MailingKind.RECAP)
    assert mailing.created_by == organiser and mailing.finished_at is not None


def test_publishing_again_sends_nothing_more(smtp, ended):
    recap_publish(event=ended, publish=True)
    recap_publish(event=ended, publish=False)
    recap_publish(event=ended, publish=True)
    assert smtp.recipients() == ["recaps@example.org"]
    assert Mailing.objects.filter(kind=MailingKind.RECAP).count() == 1


def test_the_recap_email_is_in_the_events_language(smtp, ended):
    Event.objects.filter(pk=ended.pk).update(language="fr")
    ended.refresh_from_db()
    recap_publish(event=ended, publish=True)
    [message] = smtp.accepted
    assert '<html lang="fr">' in message.get_body(preferencelist=("html",)).get_content()


def test_the_publish_button_queues_it(smtp, client, ended, organiser):
    client.force_login(organiser)
    response = client.post(reverse("recaps:recap_publish", args=[ended.slug]), {"publish": "1"})
    assert response.status_code == 302
    assert smtp.recipients() == ["recaps@example.org"]
