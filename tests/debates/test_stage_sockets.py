"""The stage over the socket: clock.updated and reveal.updated are snapshots sent on connect
and after each change (coalesced, never a tick); hosts run the clock and the reveal through
host.command; an attendee or a projector that tries is closed with 4403 and changes nothing."""

from __future__ import annotations

import pytest

from debates import live
from debates.models import PollKind, ResultsVisibility, TurnRun
from debates.services import voting
from events.models import Side, Turn
from tests.conftest import make_attendee
from tests.debates.sockets import in_thread, initial, open_socket, receive_until, session_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def command(name: str, data: dict | None = None, ref: str = "c1") -> dict:
    return {"type": "host.command", "command": name, "ref": ref, "data": data or {}}


def two_turns(event) -> None:
    Turn.objects.create(event=event, label="Opening FOR", side=Side.FOR, seconds=120, position=0)
    Turn.objects.create(
        event=event, label="Opening AGAINST", side=Side.AGAINST, seconds=90, position=1
    )


async def test_the_clock_is_sent_on_connect_and_after_every_host_command(event):
    await in_thread(two_turns)(event)
    host = await open_socket(event.slug, await in_thread(session_for)(host_event=event))
    phone = await open_socket(event.slug)
    first = await initial(phone)
    await initial(host)
    [idle] = first["clock.updated"]
    assert idle["state"] == "idle" and idle["turn"] is None

    await host.send_json_to(command("clock.start", ref="go"))
    done = await receive_until(host, lambda m: m.get("ref") == "go")
    assert done["type"] == "command.done"
    running = await receive_until(phone, lambda m: m["type"] == "clock.updated")
    assert running["state"] == "running" and running["turn"]["label"] == "Opening FOR"
    assert running["length"] == 120 and running["running_since"] and running["now"]
    assert running["seq"] > idle["seq"] and running["next"] == "Opening AGAINST"

    await host.send_json_to(command("clock.add", {"seconds": 30}, ref="more"))
    longer = await receive_until(
        phone, lambda m: m["type"] == "clock.updated" and m["length"] == 150
    )
    assert longer["state"] == "running"
    await host.send_json_to(command("clock.next", ref="next"))
    ready = await receive_until(
        phone, lambda m: m["type"] == "clock.updated" and m["state"] == "ready"
    )
    assert ready["turn"]["label"] == "Opening AGAINST" and ready["turn"]["number"] == 2
    for socket in (host, phone):
        await socket.disconnect()


async def test_a_bad_clock_command_is_refused_with_the_reason(event):
    host = await open_socket(event.slug, await in_thread(session_for)(host_event=event))
    await initial(host)
    await host.send_json_to(command("clock.add", {"seconds": 5000}, ref="x"))
    refused = await receive_until(host, lambda m: m.get("ref") == "x")
    assert refused["type"] == "command.refused" and "minutes" in refused["reason"]
    await host.send_json_to(command("clock.start", ref="y"))  # no turns yet
    refused = await receive_until(host, lambda m: m.get("ref") == "y")
    assert refused["type"] == "command.refused" and "edit page" in refused["reason"]
    await host.disconnect()


@pytest.mark.parametrize("name", ["clock.start", "clock.next", "clock.add", "reveal.show"])
async def test_an_attendee_cannot_run_the_clock_or_reveal(event, name):
    await in_thread(two_turns)(event)
    attendee = await in_thread(make_attendee)(event, "Ada")
    socket = await open_socket(event.slug, await in_thread(session_for)(attendee=attendee))
    await initial(socket)
    await socket.send_json_to(command(name, {"seconds": 30} if name == "clock.add" else {}))
    closed = await socket.receive_output(timeout=3)
    assert closed == {"type": "websocket.close", "code": live.CLOSE_FORBIDDEN}
    assert not await in_thread(TurnRun.objects.exists)()


def closed_final_vote(event, attendee) -> None:
    poll = voting.poll_open(
        event=event, kind=PollKind.FINAL_VOTE, results_visibility=ResultsVisibility.AFTER_REVEAL
    )
    voting.vote_cast(poll=poll, attendee=attendee, side=Side.AGAINST)
    voting.poll_close(poll=poll)


async def test_the_reveal_reaches_every_screen_together_and_unhides_the_final_vote(event):
    attendee = await in_thread(make_attendee)(event, "Ada")
    await in_thread(closed_final_vote)(event, attendee)
    host = await open_socket(event.slug, await in_thread(session_for)(host_event=event))
    phone = await open_socket(event.slug, await in_thread(session_for)(attendee=attendee))
    projector = await open_socket(event.slug)
    await initial(host)
    before = await initial(phone)
    await initial(projector)
    assert before["reveal.updated"][0]["revealed"] is False
    assert "counts" not in before["tally.updated"][0]  # kept for the reveal

    await host.send_json_to(command("reveal.show", ref="r"))
    for socket in (phone, projector):
        shown = await receive_until(socket, lambda m: m["type"] == "reveal.updated")
        assert shown["revealed"] is True and 'id="reveal-result"' in shown["html"]
        tally = await receive_until(socket, lambda m: m["type"] == "tally.updated")
        assert tally["visible"] is True and tally["counts"]["against"] == 1
    for socket in (host, phone, projector):
        await socket.disconnect()


async def test_a_reveal_before_the_close_is_refused(event):
    await in_thread(voting.poll_open)(event=event, kind=PollKind.FINAL_VOTE)
    host = await open_socket(event.slug, await in_thread(session_for)(host_event=event))
    await initial(host)
    await host.send_json_to(command("reveal.show", ref="r"))
    refused = await receive_until(host, lambda m: m.get("ref") == "r")
    assert refused["type"] == "command.refused" and "Close the final vote" in refused["reason"]
    await host.disconnect()
