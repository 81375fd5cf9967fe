"""What the debate calls after commit, from any thread: the hub's entry points.

Services call `tally_changed(poll_id)` / `event_changed(event_id)` / `send(group, msg)` /
`control(name, payload)` in `transaction.on_commit`, so nothing is announced that might roll
back. These functions may be called from any thread: they hop onto the process's event loop
(the hub's, or the one daphne runs, found through asgiref: debates.live.transport) with
`call_soon_threadsafe`. With no event loop in this process (a management command, the sync test
client) no local socket can be listening: the deliveries are read now and published to Redis,
if there is one.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from django.conf import settings

from debates.live import hub, plugs, relay
from debates.live.protocol import Delivery, encode


def tally_changed(poll_id: int) -> None:
    """A poll's tally or state changed (call after commit): a coalesced snapshot goes out."""
    _dispatch(lambda h: h.changed("poll", poll_id), lambda: plugs.read("poll", poll_id))


def event_changed(event_id: int) -> None:
    """Phase, round, timer, message or presence changed (after commit): the event state goes
    to every socket of the event (coalesced like tallies)."""
    _dispatch(lambda h: h.changed("event", event_id), lambda: plugs.read("event", event_id))


def changed(kind: str, event_id: int) -> None:
    """A plugged snapshot kind (plugs.plug_kind) changed for an event (call after commit): a
    coalesced snapshot goes out, at most one per the kind's interval."""
    if kind not in plugs.kinds:
        raise ValueError(f"debates.live.changed: no kind {kind!r} is plugged in")
    _dispatch(lambda h: h.changed(kind, event_id), lambda: plugs.read(kind, event_id))


def send(group: str, message: Mapping[str, Any]) -> None:
    """A JSON-safe dict (built by debates.live.protocol) to every socket in a group, in every
    process (call after commit). Encoded once, here; not coalesced (use it for rare messages,
    not for per-vote traffic)."""
    deliveries: list[Delivery] = [(group, encode(message), None)]
    _dispatch(lambda h: h.spawn(h.publish(deliveries)), lambda: deliveries)


def control(name: str, payload: Mapping[str, Any]) -> None:
    """A control message to every process (call after commit): each runs the handler
    registered for `name` (hub.control_register) for its own sockets. JSON-safe payload."""
    body = [name, dict(payload)]
    _dispatch(lambda h: h.control(*body, publish=True), lambda: body, key="c")


def background(start: Callable[[], Coroutine[Any, Any, Any]]) -> bool:
    """Runs the coroutine `start()` makes as a task on the process's event loop, from any
    thread: long-lived work beside the sockets (a rehearsal's simulated crowd), which must do
    its database work in worker threads (database_sync_to_async) and end by itself. The task
    is the hub's (cancelled by shutdown). False, and nothing runs, in a process with no event
    loop (a management command, the sync test client)."""
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is not None:
        hub.current().spawn(start())
        return True
    loop = hub.main_loop()
    if loop is None:
        return False
    loop.call_soon_threadsafe(lambda: hub.current().spawn(start()), context=contextvars.Context())
    return True


def _dispatch(
    on_loop: Callable[[hub.Hub], Any], read: Callable[[], list[Any]], *, key: str = "d"
) -> None:
    """Runs `on_loop(hub)` on the process's event loop, from whatever thread we are in."""
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is not None:
        on_loop(hub.current())
        return
    loop = hub.main_loop()
    if loop is not None:
        loop.call_soon_threadsafe(lambda: on_loop(hub.current()), context=contextvars.Context())
        return
    if settings.REDIS_URL:
        body = read()
        if body:
            relay.publish_sync(body, key=key)


def attendees_connected(event_id: int) -> int:
    """Attendees with a page of the event open: the console's "connected now" (hosts and the
    projector are not counted, nor an attendee's second tab).

    With REDIS_URL, every process reports its own count to Redis every PRESENCE_INTERVAL and
    this adds up the fresh reports of the others (one HGETALL): an attendee with tabs on two
    processes counts twice, and a change shows within a few seconds.
    """
    here = hub.existing()
    local = here.attendees_here(event_id) if here is not None else 0
    if not settings.REDIS_URL:
        return local
    own = here.bridge.origin if here is not None and here.bridge is not None else None
    return local + relay.presence_elsewhere(event_id, own_origin=own)


async def vote_submit(consumer: Any, *, ballot: Any, ref: str) -> None:
    """Queues a socket vote for the process's writer; answered after commit (or at once,
    if it replaces a queued vote or the queue is full: debates.live.writer)."""
    await hub.current().writer.submit(consumer, ballot, ref)


def votes_queued(*, attendee_id: int | None = None, poll_id: int | None = None) -> int:
    """Socket votes waiting for this process's writer (not those being written), optionally
    of one attendee and/or poll: at most WRITER_QUEUE_MAX, at most 1 per attendee and poll."""
    here = hub.existing()
    if here is None:
        return 0
    return sum(
        1
        for attendee, poll in list(here.writer.queue)
        if attendee_id in (None, attendee) and poll_id in (None, poll)
    )
