"""The announcement as a real SMTP server receives it (aiosmtpd, started by the test): the
event's details in its language, the .ics attached and parsed, "add to calendar" links, the
one-click unsubscribe headers (RFC 8058) and the link in the body; the outbox records it."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import icalendar
import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from events import outbox
from events.calendar import event_uid
from events.models import EmailStatus, Event, MailingKind, OutboundEmail, Subscriber

pytestmark = pytest.mark.django_db


def confirmed(*emails: str, event: Event | None = None, **lists: bool) -> None:
    now = timezone.now()
    for address in emails:
        Subscriber.objects.create(
            email=address, consented_at=now, confirmed_at=now, source_event=event, **lists
        )


def _parts(message):
    """text, html, and the attachments of a received message."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html, list(message.iter_attachments())


def test_the_announcement_as_received_carries_the_ics_and_one_click_unsubscribe(
    smtp, event, organiser
):
    Event.objects.filter(pk=event.pk).update(venue="The Old Library")
    event.refresh_from_db()
    confirmed("ada@example.org", "bo@example.org", event=event)
    Subscriber.objects.create(
        email="later@example.org", consented_at=timezone.now(), source_event=event
    )
    mailing = outbox.announcement_queue(event=event, by=organiser)

    assert sorted(smtp.recipients()) == ["ada@example.org", "bo@example.org"]
    message = next(m for m in smtp.accepted if m["To"] == "ada@example.org")
    assert message["Subject"] == f"Next debate: {event.title}"
    row = OutboundEmail.objects.get(mailing=mailing, to="ada@example.org")
    assert message["Message-ID"] == row.message_id

    # RFC 8058: an https URI in angle brackets, and the one-click POST marker.
    [unsubscribe] = re.findall(r"<(https://[^>]+)>", message["List-Unsubscribe"])
    assert urlsplit(unsubscribe).netloc == "debates.example.org"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html, attachments = _parts(message)
    assert unsubscribe in text and unsubscribe in html
    assert event.motion in text and "The Old Library" in text

    [ics] = attachments
    assert ics.get_content_type() == "text/calendar"
    assert ics.get_param("method") == "PUBLISH"
    assert ics.get_filename() == f"{event.slug}.ics"
    calendar = icalendar.Calendar.from_ical(ics.get_content())
    assert str(calendar["method"]) == "PUBLISH"
    [entry] = calendar.walk("VEVENT")
    assert str(entry["uid"]) == event_uid(event, "debates.example.org")
    assert entry.decoded("dtstart") == event.starts_at.replace(microsecond=0)
    assert str(entry["summary"]) == event.title
    # "Add to calendar": the site's .ics and Google Calendar.
    ics_url = f"https://debates.example.org{reverse('events:event_ics', args=[event.slug])}"
    assert ics_url in text and ics_url in html
    assert "https://calendar.google.com/calendar/render?action=TEMPLATE" in text

    # The provider's one-click POST takes that person, and only them, off the list.
    response = Client(enforce_csrf_checks=True).post(
        urlsplit(unsubscribe).path,
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert sorted(Subscriber.objects.values_list("email", flat=True)) == [
        "bo@example.org",
        "later@example.org",
    ]

    # The outbox: what was sent, to whom, when.
    rows = OutboundEmail.objects.filter(mailing=mailing)
    assert {r.status for r in rows} == {EmailStatus.SENT}
    assert all(r.sent_at and r.attempts == 1 for r in rows)
    mailing.refresh_from_db()
    assert mailing.finished_at is not None and mailing.created_by == organiser


def test_the_announcement_is_written_in_the_events_language(smtp, event, organiser):
    Event.objects.filter(pk=event.pk).update(language="fr")
    event.refresh_from_db()
    confirmed("ada@example.org", event=event)
    outbox.announcement_queue(event=event, by=organiser)
    [message] = smtp.accepted
    text, html, _ = _parts(message)
    assert '<html lang="fr">' in html
    # Every string is marked for translation; until the French catalog lands, the dates are
    # what shows it: the event's weekday and month in French.
    starts = timezone.localtime(event.starts_at)
    french_days = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
    assert french_days[starts.weekday()] in text


def test_the_organiser_announces_from_the_outbox_page_and_sees_it(smtp, client, event, organiser):
    confirmed("ada@example.org", event=event)
    client.force_login(organiser)
    page = client.get(reverse("events:event_outbox", args=[event.slug]))
    assert "Announce to subscribers" in page.content.decode()
    response = client.post(reverse("events:event_announce", args=[event.slug]))
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert "ada@example.org" in page and "1 sent" in page
    assert smtp.recipients() == ["ada@example.org"]
    # Once sent, a second announcement may follow; two at once may not (the constraint).
    assert event.mailings.get().kind == MailingKind.ANNOUNCEMENT


def test_an_event_already_under_way_cannot_be_announced(smtp, client, event, organiser):
    confirmed("ada@example.org", event=event)
    Event.objects.filter(pk=event.pk).update(starts_at=timezone.now() - timedelta(minutes=5))
    client.force_login(organiser)
    response = client.post(reverse("events:event_announce", args=[event.slug]))
    assert response.status_code == 400
    assert str(outbox.ANNOUNCE_NOT_UPCOMING) in response.content.decode()
    assert smtp.accepted == []


def test_an_empty_list_is_refused_with_the_reason(smtp, event, organiser):
    with pytest.raises(ValidationError) as error:
        outbox.announcement_queue(event=event, by=organiser)
    assert error.value.messages == [str(outbox.ANNOUNCE_NOBODY)]


def test_an_organiser_reaches_only_the_people_who_signed_up_at_their_events(
    smtp, event, organiser, stranger_user
):
    from tests.conftest import make_event

    theirs = make_event(stranger_user, title="Someone else's debate")
    confirmed("mine@example.org", event=event)
    confirmed("theirs@example.org", event=theirs)
    confirmed("nowhere@example.org")
    outbox.announcement_queue(event=event, by=organiser)
    assert smtp.recipients() == ["mine@example.org"]
