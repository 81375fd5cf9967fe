"""Joining by the code on the screen, by the screen's QR link and by an open event's link; the
event page an attendee lands on. (What a script cannot do: tests/security/test_front_door.py.)"""

from __future__ import annotations

import pytest
from django.urls import reverse

from debates.selectors import ATTENDEE_SESSION_KEY
from events.admission import screen_code
from events.models import Admission, Attendee, Phase
from events.services import attendee_join

pytestmark = pytest.mark.django_db


def join_url() -> str:
    return reverse("debates:join")


@pytest.fixture
def open_event(event):
    """The event with its door open: the standing code and link admit anyone."""
    event.admission = Admission.OPEN
    event.save(update_fields=["admission"])
    return event


def test_the_join_page_asks_for_the_code(client):
    response = client.get(join_url())
    assert response.status_code == 200
    assert b"Event code" in response.content


@pytest.mark.parametrize("typed", ["exact", "lower", "spaced", "lookalikes"])
def test_it_joins_with_the_screen_code_typed_loosely(client, event, typed):
    code = screen_code(event)
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
    client.post(join_url(), {"code": screen_code(event), "display_name": "Ada"})
    client.post(join_url(), {"code": screen_code(event)})
    link = reverse("debates:join_link", kwargs={"code": event.join_code})
    client.post(link, {"display_name": "Ada B"})
    assert Attendee.objects.filter(event=event).count() == 1
    assert Attendee.objects.get().display_name == "Ada B"  # a blank name keeps the old one


def test_one_browser_can_join_two_events(client, event, other_event):
    client.post(join_url(), {"code": screen_code(event)})
    client.post(join_url(), {"code": screen_code(other_event)})
    assert set(client.session[ATTENDEE_SESSION_KEY]) == {str(event.pk), str(other_event.pk)}
    assert Attendee.objects.count() == 2


def test_an_open_join_link_shows_a_button_and_creates_no_one_on_get(client, open_event):
    event = open_event
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


def test_an_open_events_qr_code_is_an_svg_of_the_join_link(client, open_event):
    event = open_event
    response = client.get(reverse("debates:qr", kwargs={"slug": event.slug}))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.lstrip().startswith(b"<svg")


def test_an_open_events_qr_code_encodes_the_join_link(client, open_event):
    event = open_event
    import io

    import segno

    response = client.get(reverse("debates:qr", kwargs={"slug": event.slug}))
    expected = io.BytesIO()
    segno.make(f"http://testserver/j/{event.join_code}/", error="m").save(
        expected, kind="svg", scale=10, border=2, xmldecl=False, title="Join link"
    )
    assert response.content == expected.getvalue()


def test_the_event_page_shows_motion_phase_and_speakers(client, event):
    client.post(join_url(), {"code": screen_code(event), "display_name": "Ada"})
    response = client.get(event.get_absolute_url())
    page = response.content.decode()
    assert response.status_code == 200
    assert event.motion in page
    assert str(Phase.LOBBY.label) in page
    assert "Hal Host" in page and "For, because." in page
    assert "Mo Derator" in page and "Against, because." in page
    assert "You are taking part as Ada" in page
    assert f'data-live="/ws/e/{event.slug}/"' in page


def test_a_visitor_at_an_open_event_is_offered_the_join_button(client, open_event):
    page = client.get(open_event.get_absolute_url()).content.decode()
    assert "Join this event" in page
    assert "data-attendee" not in page.split("data-live", 1)[1].split(">", 1)[0]


def test_a_visitor_at_an_event_in_a_room_is_sent_to_the_screen(client, event):
    page = client.get(event.get_absolute_url()).content.decode()
    assert "Join this event" not in page
    assert "scan the QR code on the screen" in page
    assert f'href="{join_url()}"' in page
    assert f"/j/{event.join_code}/" not in page  # the standing link admits nobody here


def test_the_projector_shows_the_code_and_the_qr_link_of_the_screen(host_client, event):
    page = host_client.get(reverse("debates:projector", kwargs={"slug": event.slug}))
    html = page.content.decode()
    assert page.status_code == 200 and 'class="projector"' in html
    code = screen_code(event)
    assert f"data-screen-code>{code[:3]}-{code[3:]}<" in html
    assert "<svg" in html.split("projector-join", 1)[1]  # the QR code, inline


def test_an_open_events_projector_shows_its_standing_code(host_client, open_event):
    html = host_client.get(reverse("debates:projector", kwargs={"slug": open_event.slug}))
    code = open_event.join_code
    assert f"data-screen-code>{code[:3]}-{code[3:]}<" in html.content.decode()
