"""The rehearsal from the host console: offered on a draft only, a banner while it is on, its
commands over HTTP and over the socket, and the simulated crowd running on the event loop."""

from __future__ import annotations

import asyncio

import pytest
from django.urls import reverse

from debates import crowd, live
from debates.models import Rehearsal
from debates.services import rehearsal
from events.models import Attendee, Event
from tests.conftest import make_event
from tests.debates.sockets import in_thread, open_socket, receive_until, session_for
from tests.debates.test_console import HTMX, attendee_client, url

BANNER = "data-rehearsal-banner"


def console(client, event) -> str:
    return client.get(reverse("debates:console", args=[event.slug])).content.decode()


@pytest.mark.django_db
def test_a_draft_offers_a_rehearsal_and_an_event_under_way_does_not(client, organiser, live_event):
    client.force_login(organiser)
    html = console(client, live_event["event"])
    assert "rehearsal.start" not in html and BANNER not in html
    html = console(client, make_event(organiser, title="Draft"))
    assert "rehearsal.start" in html and BANNER not in html


@pytest.mark.django_db
def test_the_host_starts_stops_and_resets_a_rehearsal_from_the_console(host_client, event):
    start = host_client.post(url(event, "rehearsal.start"), {"people": 30, "minutes": 5}, **HTMX)
    assert start.status_code == 200
    assert BANNER in start.content.decode()
    assert BANNER in console(host_client, event)  # at the top of the console, until the reset
    assert console(host_client, event).index(BANNER) < console(host_client, event).index(
        'id="polls"'
    )
    run = Rehearsal.objects.get(event=event)
    assert (run.people, run.minutes, run.stopped_at) == (30, 5, None)

    stop = host_client.post(url(event, "rehearsal.stop"), **HTMX)
    assert stop.status_code == 200 and 'data-rehearsal-state="stopped"' in stop.content.decode()
    reset = host_client.post(url(event, "rehearsal.reset"), **HTMX)
    assert reset.status_code == 200 and reset["HX-Refresh"] == "true"
    assert BANNER not in console(host_client, event)
    run.refresh_from_db()
    assert run.reset_at is not None and not Event.objects.get(pk=event.pk).rehearsing


@pytest.mark.django_db
def test_bad_rehearsal_input_and_a_second_start_are_refused_with_a_reason(host_client, event):
    too_many = host_client.post(
        url(event, "rehearsal.start"), {"people": 500, "minutes": 5}, **HTMX
    )
    assert too_many.status_code == 400
    assert too_many.content.decode() == str(rehearsal.REHEARSAL_PEOPLE_RANGE)
    host_client.post(url(event, "rehearsal.start"), {"people": 3, "minutes": 5}, **HTMX)
    again = host_client.post(url(event, "rehearsal.start"), {"people": 3, "minutes": 5}, **HTMX)
    assert (again.status_code, again.content.decode()) == (
        400,
        str(rehearsal.REHEARSAL_UNDER_WAY),
    )
    assert Rehearsal.objects.filter(event=event).count() == 1


@pytest.mark.django_db
def test_attendees_cannot_start_a_rehearsal(event, attendee):
    data = {"people": 3, "minutes": 5}
    response = attendee_client(attendee).post(url(event, "rehearsal.start"), data, **HTMX)
    assert response.status_code == 403
    assert not Rehearsal.objects.exists()


@pytest.mark.django_db(transaction=True)
async def test_the_host_stops_a_rehearsal_over_the_socket(event):
    run = await in_thread(rehearsal.rehearsal_start)(event=event, people=3, minutes=5)
    host = await open_socket(event.slug, await in_thread(session_for)(host_event=event))
    await host.send_json_to(
        {"type": "host.command", "command": "rehearsal.stop", "ref": "s", "data": {}}
    )
    done = await receive_until(host, lambda m: m.get("ref") == "s")
    assert done == {"type": "command.done", "ref": "s", "command": "rehearsal.stop"}
    await in_thread(run.refresh_from_db)()
    assert run.stopped_at is not None
    await host.disconnect()
    await live.shutdown()


@pytest.mark.django_db(transaction=True)
async def test_the_crowd_runs_on_the_event_loop_until_the_rehearsal_stops(event):
    run = await in_thread(rehearsal.rehearsal_start)(event=event, people=3, minutes=5)
    joined = in_thread(lambda: Attendee.objects.filter(event=event, simulated=True).count())

    assert crowd.crowd_launch(run.pk)  # the first step is at once: someone arrives
    for _ in range(200):
        if await joined():
            break
        await asyncio.sleep(0.05)
    assert await joined() >= 1
    await in_thread(rehearsal.rehearsal_stop)(event=event)
    for _ in range(200):  # the next step sees the stop and the task ends
        if run.pk not in crowd._running:
            break
        await asyncio.sleep(0.05)
    assert run.pk not in crowd._running
    await live.shutdown()
