"""Double opt-in (issue 17): a sign-up gets one email, a signed link to confirm; nothing else
reaches an address until it is confirmed; one-click unsubscribe (RFC 8058) without CSRF."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from events import outbox
from events.models import EmailStatus, Mailing, MailingKind, OutboundEmail, Subscriber
from events.services import (
    CONFIRM_NOT_ON_LIST,
    SUBSCRIBE_NOTHING_CHOSEN,
    subscriber_add,
    subscriber_confirm,
    unsubscribe_token,
)
from events.tokens import CONFIRM_LINK_INVALID, CONFIRM_MAX_AGE, SignUp, confirm_token

pytestmark = pytest.mark.django_db


def _sign_up(client, email="Ada@Example.org", lists=None, **extra):
    data = {"email": email, "consent": "on", "next": "/", **extra}
    if lists:
        data["lists"] = lists
    return client.post(reverse("events:subscribe"), data)


def _confirm_path(message) -> str:
    [link] = re.findall(r"https?://\S+/subscribe/confirm/\S+/", message.body)
    return urlsplit(link).path


def test_a_sign_up_gets_one_email_with_a_link_and_stays_unconfirmed(client, settings):
    settings.SITE_URL = "https://debates.example.org"
    assert _sign_up(client).status_code == 302
    subscriber = Subscriber.objects.get()
    assert subscriber.confirmed_at is None
    [message] = mail.outbox
    assert message.to == ["ada@example.org"]
    assert "https://debates.example.org/subscribe/confirm/" in message.body
    # Not a list email: no unsubscribe headers on the confirmation itself.
    assert "List-Unsubscribe" not in message.extra_headers
    row = OutboundEmail.objects.get()
    assert (row.status, row.mailing.kind) == (EmailStatus.SENT, MailingKind.CONFIRM)
    assert message.extra_headers["Message-ID"] == row.message_id


def test_following_the_link_asks_then_confirms_with_the_lists_chosen(client):
    _sign_up(client, lists="recaps")
    path = _confirm_path(mail.outbox[0])
    reader = Client()
    page = reader.get(path)
    assert page.status_code == 200 and "ada@example.org" in page.content.decode()
    assert Subscriber.objects.get().confirmed_at is None  # a mail scanner's GET confirms nothing
    done = reader.post(path)
    assert done.status_code == 200 and "is confirmed" in done.content.decode()
    subscriber = Subscriber.objects.get()
    assert subscriber.confirmed_at is not None
    assert (subscriber.wants_announcements, subscriber.wants_recaps) == (False, True)
    assert reader.post(path).status_code == 200  # twice is harmless


def test_an_altered_or_expired_link_confirms_nobody(client):
    _sign_up(client)
    path = _confirm_path(mail.outbox[0])
    forged = path[:-6] + ("AAAAA/" if path[-6:-1] != "AAAAA" else "BBBBB/")
    response = Client().post(forged)
    assert response.status_code == 400
    assert str(CONFIRM_LINK_INVALID) in response.content.decode()
    # A link signed longer ago than CONFIRM_MAX_AGE, for the address on the list.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("time.time", lambda: timezone.now().timestamp() - CONFIRM_MAX_AGE - 60)
        token = confirm_token(SignUp("ada@example.org", True, True))
    response = Client().post(reverse("events:subscribe_confirm", args=[token]))
    assert response.status_code == 400
    assert Subscriber.objects.get().confirmed_at is None


def test_an_unsubscribed_address_cannot_be_confirmed_back_by_an_old_link(client):
    _sign_up(client)
    path = _confirm_path(mail.outbox[0])
    Client().post(reverse("events:unsubscribe", args=[unsubscribe_token("ada@example.org")]))
    response = Client().post(path)
    assert response.status_code == 400
    assert str(CONFIRM_NOT_ON_LIST) in response.content.decode()
    assert not Subscriber.objects.exists()


def test_signing_up_again_soon_sends_no_second_email(client):
    _sign_up(client)
    _sign_up(client, email="ADA@example.org")
    assert len(mail.outbox) == 1
    assert OutboundEmail.objects.count() == 1


def test_a_confirmed_subscribers_choice_changes_only_through_the_new_link(client, event):
    subscriber_add(email="ada@example.org", consented=True)
    subscriber_confirm(token=_confirm_path(mail.outbox[0]).rsplit("/", 2)[-2])
    Mailing.objects.update(created_at=timezone.now() - timedelta(hours=1))
    _sign_up(client, lists="announcements")
    subscriber = Subscriber.objects.get()
    assert (subscriber.wants_announcements, subscriber.wants_recaps) == (True, True)
    assert len(mail.outbox) == 2
    Client().post(_confirm_path(mail.outbox[1]))
    subscriber.refresh_from_db()
    assert (subscriber.wants_announcements, subscriber.wants_recaps) == (True, False)


def test_choosing_nothing_is_refused():
    with pytest.raises(Exception) as error:
        subscriber_add(email="ada@example.org", consented=True, announcements=False, recaps=False)
    assert str(SUBSCRIBE_NOTHING_CHOSEN) in str(error.value)


def test_an_announcement_goes_to_confirmed_subscribers_only(event, organiser, client):
    organiser.is_staff = True
    organiser.save()
    subscriber_add(email="confirmed@example.org", consented=True)
    subscriber_add(email="pending@example.org", consented=True)
    subscriber_add(email="no-news@example.org", consented=True, announcements=False)
    for message in mail.outbox:
        if message.to != ["pending@example.org"]:
            Client().post(_confirm_path(message))
    mail.outbox.clear()
    mailing = outbox.announcement_queue(event=event, by=organiser)
    assert [m.to for m in mail.outbox] == [["confirmed@example.org"]]
    assert list(mailing.emails.values_list("to", flat=True)) == ["confirmed@example.org"]


def test_the_export_shows_who_confirmed(client, organiser, event):
    subscriber_add(email="ada@example.org", consented=True, source_event=event)
    client.force_login(organiser)
    body = client.get(reverse("events:subscribers_csv")).content.decode()
    header, row = body.splitlines()[:2]
    assert "confirmed_at" in header
    assert row.split(",")[2] == ""  # not confirmed yet


def test_one_click_unsubscribe_is_a_post_without_a_csrf_token(event):
    subscriber_add(email="ada@example.org", consented=True)
    provider = Client(enforce_csrf_checks=True)  # a mail provider's server: no cookie, no token
    url = reverse("events:unsubscribe", args=[unsubscribe_token("ada@example.org")])
    response = provider.post(
        url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert not Subscriber.objects.exists()
    # A page on GET, still: the link in the body opens it and removes nobody.
    subscriber_add(email="ada@example.org", consented=True)
    assert provider.get(url).status_code == 200
    assert Subscriber.objects.exists()
