"""The stage over HTTP: the switcher's one-tap question (allow and deny), the console's clock
and reveal panels, and the clock on the attendee page and the projector."""

from __future__ import annotations

import pytest
from django.urls import reverse

from debates.models import MindChange
from debates.selectors import ATTENDEE_SESSION_KEY
from debates.services import clock
from events.models import Side, Turn
from tests.debates.services.test_persuasion import highlighted, two_votes

pytestmark = pytest.mark.django_db


def as_attendee(client, attendee):
    session = client.session
    session[ATTENDEE_SESSION_KEY] = {str(attendee.event_id): attendee.token}
    session.save()
    return client


def test_a_switcher_is_asked_once_and_names_a_point_in_one_tap(client, event):
    [switcher] = two_votes(event, [(Side.AGAINST, Side.FOR)])
    point = highlighted(event)
    as_attendee(client, switcher)
    card = client.get(reverse("debates:mind", args=[event.slug]), HTTP_HX_REQUEST="true")
    assert "What moved you?" in card.content.decode() and point.text in card.content.decode()

    url = reverse("debates:mind_answer", args=[event.slug])
    answered = client.post(url, {"choice": f"point-{point.pk}"}, HTTP_HX_REQUEST="true")
    assert answered.status_code == 200 and "Thank you" in answered.content.decode()
    assert MindChange.objects.get(attendee=switcher).point == point
    again = client.post(url, {"choice": "skip"}, HTTP_HX_REQUEST="true")
    assert again.status_code == 400 and "already answered" in again.content.decode()
    assert (
        "What moved you?"
        not in client.get(reverse("debates:mind", args=[event.slug])).content.decode()
    )


def test_someone_who_kept_their_side_is_not_asked_and_cannot_answer(client, event):
    [stayer] = two_votes(event, [(Side.FOR, Side.FOR)])
    point = highlighted(event)
    as_attendee(client, stayer)
    assert (
        "What moved you?"
        not in client.get(reverse("debates:mind", args=[event.slug])).content.decode()
    )
    refused = client.post(
        reverse("debates:mind_answer", args=[event.slug]),
        {"choice": f"point-{point.pk}"},
        HTTP_HX_REQUEST="true",
    )
    assert refused.status_code == 400 and not MindChange.objects.exists()


def test_a_visitor_who_never_joined_cannot_answer(client, event):
    point = highlighted(event)
    refused = client.post(
        reverse("debates:mind_answer", args=[event.slug]), {"choice": f"point-{point.pk}"}
    )
    assert refused.status_code == 403 and not MindChange.objects.exists()


def test_the_console_shows_the_clock_and_the_reveal_panels_to_hosts_only(
    host_client, client, event
):
    Turn.objects.create(event=event, label="Opening FOR", side=Side.FOR, seconds=60)
    clock.clock_start(event=event)
    for panel in ("clock", "reveal"):
        page = host_client.get(reverse("debates:console_panel", args=[event.slug, panel]))
        assert page.status_code == 200
    assert (
        "Opening FOR"
        in host_client.get(
            reverse("debates:console_panel", args=[event.slug, "clock"])
        ).content.decode()
    )
    client.logout()
    assert (
        client.get(reverse("debates:console_panel", args=[event.slug, "clock"])).status_code == 403
    )


def test_the_attendee_page_shows_the_turn_on_the_clock(client, event):
    Turn.objects.create(event=event, label="Opening AGAINST: Mo", side=Side.AGAINST, seconds=90)
    page = client.get(reverse("debates:event", args=[event.slug])).content.decode()
    assert 'data-state="idle"' in page and "Opening AGAINST: Mo" not in page
    clock.clock_start(event=event)
    page = client.get(reverse("debates:event", args=[event.slug])).content.decode()
    assert 'data-state="running"' in page and "Opening AGAINST: Mo" in page
