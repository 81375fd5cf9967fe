"""debates.live.plug_kind: a live snapshot kind the debate plugs in (questions, reactions,
clocks) is coalesced like tallies, sent whole on connect and re-read on a resync."""

from __future__ import annotations

import asyncio

import pytest

from debates import live
from debates.live import hub, plugs
from tests.debates.sockets import in_thread, initial, open_socket, receive_until, session_for


@pytest.fixture
def counter_kind():
    """A kind whose snapshot is how many times it was read, with a version."""
    reads: list[int] = []

    def reader(event_id: int) -> list[live.Delivery]:
        reads.append(event_id)
        message = {"type": "counter.updated", "event": event_id, "version": len(reads)}
        return [(live.event_group(event_id), live.encode(message), None)]

    def on_connect(*, event_id: int, attendee_id: int | None, host: bool) -> list[str]:
        message = {"type": "counter.synced", "attendee": attendee_id, "host": host}
        return [live.encode(message)]

    live.plug_kind("counter", reader, interval=0.2, on_connect=on_connect)
    yield reads
    plugs.kinds.pop("counter", None)


def test_a_built_in_kind_or_a_zero_interval_cannot_be_plugged():
    with pytest.raises(ValueError):
        live.plug_kind("poll", lambda event_id: [])
    with pytest.raises(ValueError):
        live.plug_kind("clock", lambda event_id: [], interval=0)
    with pytest.raises(ValueError):
        live.changed("never-plugged", 1)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_plugged_kind_is_sent_on_connect_and_coalesced_on_change(
    event, attendee, counter_kind
):
    socket = await open_socket(event.slug, await in_thread(session_for)(attendee=attendee))
    first = await initial(socket)
    assert first["counter.synced"] == [
        {"type": "counter.synced", "attendee": attendee.pk, "host": False}
    ]

    for _ in range(200):  # a burst of changes in one turn of the loop
        live.changed("counter", event.pk)
    message = await receive_until(socket, lambda m: m["type"] == "counter.updated")
    await asyncio.sleep(0.5)  # longer than two intervals: everything the burst caused is out
    assert 1 <= len(counter_kind) <= 2  # 200 changes, at most two reads
    assert message["event"] == event.pk
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_resync_rereads_every_plugged_kind_of_every_event_held_here(
    event, attendee, counter_kind
):
    socket = await open_socket(event.slug, await in_thread(session_for)(attendee=attendee))
    await initial(socket)
    hub.current().resync()  # what a process does when its Redis subscription comes back
    message = await receive_until(socket, lambda m: m["type"] == "counter.updated")
    assert message["event"] == event.pk and counter_kind == [event.pk]
    await socket.disconnect()
