"""Subscribing: consent and time recorded, duplicates merged, bad input refused; the CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.template import engines
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from events.models import Subscriber
from events.services import (
    SUBSCRIBE_CONSENT_MISSING,
    SUBSCRIBE_EMAIL_INVALID,
    UNSUBSCRIBE_LINK_INVALID,
    subscriber_add,
    unsubscribe_token,
)
from tests.conftest import make_event

pytestmark = pytest.mark.django_db
URL = reverse("events:subscribe")


def _post(client, email="Ada@Example.org", consent="on", **extra):
    data = {"email": email, "next": "/", **extra}
    if consent:
        data["consent"] = consent
    return client.post(URL, data)


def test_a_reader_subscribes_with_consent_and_time_recorded(client, event):
    before = timezone.now()
    next_url = reverse("recaps:recap", args=[event.slug])
    response = _post(client, event=event.slug, next=next_url)
    assert response.status_code == 302
    assert response.url == f"{next_url}?subscribed=1#subscribe"
    subscriber = Subscriber.objects.get()
    assert subscriber.email == "ada@example.org"
    assert subscriber.consented_at >= before
    assert subscriber.source_event == event


def test_the_page_thanks_them_after_the_redirect(client):
    response = client.get(reverse("events:index") + "?subscribed=1")
    assert "Check your inbox: we have sent you a link to confirm." in response.content.decode()


def test_signing_up_twice_merges_into_one_row_with_the_latest_consent(client, event, other_event):
    first, created = subscriber_add(
        email="ada@example.org",
        consented=True,
        source_event=event,
        now=timezone.now() - timedelta(days=3),
    )
    assert created
    response = _post(client, email="  ADA@example.ORG ", event=other_event.slug)
    assert response.status_code == 302
    assert Subscriber.objects.count() == 1
    merged = Subscriber.objects.get()
    assert merged.consented_at > first.consented_at
    assert merged.source_event == event  # where they first signed up
    assert merged.created_at == first.created_at


@pytest.mark.parametrize(
    "email", ["", "not-an-email", "ada@", "ada@localhost.", "a" * 250 + "@example.org"]
)
def test_invalid_emails_are_refused_with_a_message(client, email):
    response = _post(client, email=email)
    assert response.status_code == 400
    assert str(SUBSCRIBE_EMAIL_INVALID) in response.content.decode()
    assert not Subscriber.objects.exists()


def test_the_refusal_keeps_what_they_typed(client):
    response = _post(client, email="ada@@example.org")
    assert 'value="ada@@example.org"' in response.content.decode()


def test_no_consent_no_subscription(client):
    response = _post(client, consent="")
    assert response.status_code == 400
    assert str(SUBSCRIBE_CONSENT_MISSING) in response.content.decode()
    assert not Subscriber.objects.exists()


def test_the_service_refuses_the_same_way():
    with pytest.raises(ValidationError) as error:
        subscriber_add(email="nope", consented=True)
    assert error.value.messages == [str(SUBSCRIBE_EMAIL_INVALID)]
    with pytest.raises(ValidationError) as error:
        subscriber_add(email="ada@example.org", consented=False)
    assert error.value.messages == [str(SUBSCRIBE_CONSENT_MISSING)]


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x"])
def test_it_never_redirects_off_site(client, next_url):
    response = _post(client, next=next_url)
    assert response.url == reverse("events:index") + "?subscribed=1#subscribe"


def test_an_unknown_event_slug_still_subscribes(client):
    assert _post(client, event="no-such-event").status_code == 302
    assert Subscriber.objects.get().source_event is None


def test_subscribing_is_a_post(client):
    assert client.get(URL).status_code == 405


def _csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


@pytest.fixture
def list_of_three(event, organiser, stranger_user):
    theirs = make_event(stranger_user, title="Someone else's debate")
    subscriber_add(email="ada@example.org", consented=True, source_event=event)
    subscriber_add(email="bo@example.org", consented=True, source_event=theirs)
    subscriber_add(email="cy@example.org", consented=True)


def test_staff_export_the_whole_list(client, list_of_three):
    staff = get_user_model().objects.create_user("staff", password="pw-staff-1", is_staff=True)
    client.force_login(staff)
    response = client.get(reverse("events:subscribers_csv"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = _csv_rows(response)
    assert list(rows[0]) == [
        "email",
        "consented_at",
        "confirmed_at",
        "wants_announcements",
        "wants_recaps",
        "signed_up_at_event",
        "first_signed_up_at",
        "unsubscribe_url",
    ]
    assert [r["email"] for r in rows] == ["ada@example.org", "bo@example.org", "cy@example.org"]
    assert rows[0]["signed_up_at_event"] == "Test debate" and rows[0]["consented_at"]


def test_an_organiser_exports_the_people_who_signed_up_at_their_events(
    client, list_of_three, organiser
):
    client.force_login(organiser)
    rows = _csv_rows(client.get(reverse("events:subscribers_csv")))
    assert [r["email"] for r in rows] == ["ada@example.org"]


def test_people_who_organise_nothing_cannot_export_the_list(client, db, host_user):
    assert client.get(reverse("events:subscribers_csv")).status_code == 403
    client.force_login(host_user)
    assert client.get(reverse("events:subscribers_csv")).status_code == 403


def test_any_page_can_carry_the_subscribe_box(rf, event):
    request = rf.get("/e/test-debate/")
    html = (
        engines["django"]
        .from_string("{% load event_tags %}{% subscribe_box event %}")
        .render({"event": event}, request)
    )
    assert f'action="{URL}"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert f'name="event" value="{event.slug}"' in html
    assert 'name="next" value="/e/test-debate/"' in html


def test_each_exported_row_carries_a_link_that_unsubscribes_that_person_only(client, list_of_three):
    staff = get_user_model().objects.create_user("staff", password="pw-staff-1", is_staff=True)
    client.force_login(staff)
    rows = _csv_rows(client.get(reverse("events:subscribers_csv")))
    link = next(r["unsubscribe_url"] for r in rows if r["email"] == "bo@example.org")
    assert link.startswith("http://testserver/unsubscribe/")
    path = link.removeprefix("http://testserver")

    reader = Client()  # the person clicking the link in their email: not logged in
    page = reader.get(path)
    assert page.status_code == 200 and "bo@example.org" in page.content.decode()
    assert Subscriber.objects.filter(email="bo@example.org").exists()  # a GET removes nothing

    done = reader.post(path)
    assert done.status_code == 200 and "is off the list" in done.content.decode()
    assert sorted(Subscriber.objects.values_list("email", flat=True)) == [
        "ada@example.org",
        "cy@example.org",
    ]
    assert reader.post(path).status_code == 200  # twice is harmless


def test_an_altered_unsubscribe_link_removes_nobody(client, list_of_three):
    token = unsubscribe_token("ada@example.org")
    forged = token.replace(token[-4:], "AAAA" if token[-4:] != "AAAA" else "BBBB")
    response = client.post(reverse("events:unsubscribe", args=[forged]))
    assert response.status_code == 400
    assert str(UNSUBSCRIBE_LINK_INVALID) in response.content.decode()
    assert Subscriber.objects.count() == 3
