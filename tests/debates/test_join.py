"""Joining by code, by link and by QR code; the event page an attendee lands on."""

from __future__ import annotations

import pytest
from django.urls import reverse

from debates.selectors import ATTENDEE_SESSION_KEY
from events.models import Attendee, Phase
from events.services import attendee_join

pytestmark = pytest.mark.django_db


def join_url() -> str:
    return reverse("debates:join")


def test_the_join_page_asks_for_the_code(client):
    response = client.get(join_url())
    assert response.status_code == 200
    assert b"Event code" in response.content


@pytest.mark.parametrize("typed", ["exact", "lower", "spaced", "lookalikes"])
def test_it_joins_with_a_code_typed_loosely(client, event, typed):
    code = event.join_code
    variants = {
        "exact": code,
        "lower": code.lower(),
        "spaced": f" {code[:3]} - {code[3:]} ",
        # Digits typed as the letters they look like: 0 -> O, 1 -> I.
        "lookalikes": code.replace("0", "O").replace("1", "I"),
    }
    response = client.post(join_url(), {"code": variants[typed], "display_name": "  Ada   L "})
    assert response.status_code == 302
    assert response["Location"] == reverse("debates:event", kwargs={"slug": event.slug})
    attendee = Attendee.objects.get(event=event)
    assert attendee.display_name == "Ada L"
    assert client.session[ATTENDEE_SESSION_KEY] == {str(event.pk): attendee.token}


def test_it_says_so_when_no_event_has_the_code(client, event):
    response = client.post(join_url(), {"code": "ZZZZZZ"})
    assert response.status_code == 400
    assert b"No event has that code" in response.content
    assert not Attendee.objects.exists()


def test_coming_back_keeps_the_same_attendee(client, event):
    client.post(join_url(), {"code": event.join_code, "display_name": "Ada"})
    client.post(join_url(), {"code": event.join_code})
    link = reverse("debates:join_link", kwargs={"code": event.join_code})
    client.post(link, {"display_name": "Ada B"})
    assert Attendee.objects.filter(event=event).count() == 1
    assert Attendee.objects.get().display_name == "Ada B"  # a blank name keeps the old one


def test_one_browser_can_join_two_events(client, event, other_event):
    client.post(join_url(), {"code": event.join_code})
    client.post(join_url(), {"code": other_event.join_code})
    assert set(client.session[ATTENDEE_SESSION_KEY]) == {str(event.pk), str(other_event.pk)}
    assert Attendee.objects.count() == 2


def test_the_join_link_shows_a_button_and_creates_no_one_on_get(client, event):
    link = reverse("debates:join_link", kwargs={"code": event.join_code})
    response = client.get(link)
    assert response.status_code == 200
    assert event.motion.encode() in response.content
    assert b"Join and vote" in response.content
    assert not Attendee.objects.exists()  # link previews must not create attendees

    response = client.post(link, {"display_name": ""})
    assert response.status_code == 302
    assert Attendee.objects.count() == 1
    # Once joined, the link goes straight to the event.
    assert client.get(link)["Location"] == event.get_absolute_url()


def test_the_join_link_of_an_unknown_code_is_404(client, db):
    assert client.get(reverse("debates:join_link", kwargs={"code": "NOPE99"})).status_code == 404


def test_a_token_from_another_event_does_not_rejoin_as_that_attendee(event, other_event):
    elsewhere = attendee_join(event=other_event, display_name="Bo")
    here = attendee_join(event=event, token=elsewhere.token)
    assert here.pk != elsewhere.pk and here.event == event


def test_the_qr_code_is_an_svg_of_the_join_link(client, event):
    response = client.get(reverse("debates:qr", kwargs={"slug": event.slug}))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.lstrip().startswith(b"<svg")


def test_the_qr_code_encodes_the_join_link(client, event):
    import io

    import segno

    response = client.get(reverse("debates:qr", kwargs={"slug": event.slug}))
    expected = io.BytesIO()
    segno.make(f"http://testserver/j/{event.join_code}/", error="m").save(
        expected, kind="svg", scale=10, border=2, xmldecl=False, title="Join link"
    )
    assert response.content == expected.getvalue()


def test_the_event_page_shows_motion_phase_and_speakers(client, event):
    client.post(join_url(), {"code": event.join_code, "display_name": "Ada"})
    response = client.get(event.get_absolute_url())
    page = response.content.decode()
    assert response.status_code == 200
    assert event.motion in page
    assert str(Phase.LOBBY.label) in page
    assert "Hal Host" in page and "For, because." in page
    assert "Mo Derator" in page and "Against, because." in page
    assert "You are taking part as Ada" in page
    assert f'data-live="/ws/e/{event.slug}/"' in page


def test_a_visitor_who_has_not_joined_is_offered_the_join_button(client, event):
    page = client.get(event.get_absolute_url()).content.decode()
    assert "Join this event" in page
    assert "data-attendee" not in page.split("data-live", 1)[1].split(">", 1)[0]


def test_the_projector_shows_the_code_and_the_qr_code(client, event):
    page = client.get(reverse("debates:projector", kwargs={"slug": event.slug})).content.decode()
    assert 'class="projector"' in page
    assert f"{event.join_code[:3]}-{event.join_code[3:]}" in page
    assert reverse("debates:qr", kwargs={"slug": event.slug}) in page
