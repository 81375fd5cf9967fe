"""The per-process hub: registry of sockets per group, coalescing, fan-out, connect and resync.

Coalescing (at most 1 / TALLY_INTERVAL snapshots per poll per process)
    `changed` only marks the poll (or event) dirty. One flusher task per dirty key reads ONE
    snapshot (the reader the debate plugged in), sends it, waits out the interval, and loops
    while the key is dirty again. A thousand votes in a second cost four snapshot reads and four
    frames per socket. The next broadcast waits until the last has gone out (the flusher awaits
    the send), and at least as long again as that broadcast took, so fan-out never takes more
    than half of the loop.

Fan-out (no channel layer on the hot path)
    Each process keeps a registry of its own sockets per group. A snapshot is encoded to JSON
    and framed once, and the same websocket frame is handed to every local socket
    (transport.send_frame: straight to the kernel buffer, or through daphne's send): no
    per-socket encode, no per-socket channel-layer message, no thread hop per message. Hosts
    get counts and turnout even while the results are hidden from the audience: a tally goes to
    `hosts_group` in full, and to the rest of `event_group` in its public form.

Connect and reconnect
    `connect()` reads who the socket is (attendee of the event from the session, host, or a
    viewer such as the projector) with the debate's connection reader, registers it, and sends
    at once: the event state (`phase.changed`), a `tally.updated` for every poll that is not a
    draft, and `you.synced` (this attendee's votes re-read from the database). If a broadcast
    went out while the state was being read, it is read again, so a connecting socket never
    misses a change; a host re-check counts as one, and the socket is registered again as what
    the second read found (host rights that ended meanwhile are not kept).

Rooms and presence
    An attendee's socket also joins `room_group` of their breakout room (`subscribe`), as the
    consumer decides from the database. `attendees_here(event_id)` counts distinct attendees
    with a socket on this process (debates.live.relay adds up the other processes').
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import math
from collections.abc import Callable, Iterable
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from debates.live import plugs, transport
from debates.live.plugs import Connection
from debates.live.protocol import (
    CLOSE_NOT_FOUND,
    Delivery,
    event_group,
    event_of_group,
    hosts_group,
)
from debates.live.relay import RedisBridge
from debates.live.writer import VoteWriter

log = logging.getLogger(__name__)

TALLY_INTERVAL = 0.25  # seconds between two snapshots of one poll (per process)
EVENT_INTERVAL = 0.25  # seconds between two event-state snapshots of one event

_CONTROLS: dict[str, Callable[[Any, dict[str, Any]], None]] = {}


def control_register(name: str, handler: Callable[[Any, dict[str, Any]], None]) -> None:
    """`handler(hub, payload)` runs on the event loop of every process a message reaches."""
    _CONTROLS[name] = handler


def _interval(kind: str) -> float:
    if kind == "poll":
        return TALLY_INTERVAL
    plugged = plugs.kinds.get(kind)
    return plugged.interval if plugged is not None else EVENT_INTERVAL


class Hub:
    """All live state of one process (of one event loop, in tests)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.groups: dict[str, set[Any]] = {}
        self.dirty: set[tuple[str, int]] = set()
        self.flushers: dict[tuple[str, int], asyncio.Task] = {}
        self.next_at: dict[tuple[str, int], float] = {}  # earliest next snapshot, per key
        self.deliveries = 0  # broadcasts delivered so far; connect() watches it
        self.tasks: set[asyncio.Task] = set()
        self.writer = VoteWriter(self)
        self.bridge = RedisBridge(self, settings.REDIS_URL) if settings.REDIS_URL else None

    def spawn(self, coro: Any) -> asyncio.Task:
        # A fresh context: a task spawned on behalf of a sync thread must not inherit asgiref's
        # "inside the sync thread" markers (database_sync_to_async would refuse to run).
        task = self.loop.create_task(coro, context=contextvars.Context())
        self.tasks.add(task)  # a strong reference, or the task may be collected mid-flight
        task.add_done_callback(self.tasks.discard)
        return task

    # registry

    def members(self, group: str) -> set[Any]:
        """A copy of a group's sockets (safe from another thread: retried if it moved)."""
        for _attempt in range(3):
            try:
                return set(self.groups.get(group, ()))
            except RuntimeError:
                continue
        return set()

    def attendees_here(self, event_id: int) -> int:
        """Distinct attendees of an event with a socket on this process."""
        members = self.members(event_group(event_id))
        return len(
            {
                connection.attendee_id
                for connection in (getattr(m, "connection", None) for m in members)
                if connection is not None and connection.attendee_id is not None
            }
        )

    def events_here(self) -> list[int]:
        return [e for e in map(event_of_group, list(self.groups)) if e is not None]

    async def register(self, consumer: Any, connection: Connection) -> None:
        groups = {event_group(connection.event_id), *connection.groups}
        if connection.host:
            groups.add(hosts_group(connection.event_id))
        for group in groups:
            self.groups.setdefault(group, set()).add(consumer)
        consumer.live_groups = groups
        await plugs.fanout().registered(consumer, connection)
        if self.bridge is not None:
            await self.bridge.ready()

    async def unregister(self, consumer: Any) -> None:
        for group in getattr(consumer, "live_groups", ()):
            self._discard(group, consumer)
        consumer.live_groups = set()
        await plugs.fanout().unregistered(consumer)

    def _discard(self, group: str, consumer: Any) -> None:
        members = self.groups.get(group)
        if members is not None:
            members.discard(consumer)
            if not members:
                del self.groups[group]

    # coalescing

    def changed(self, kind: str, object_id: int) -> None:
        if kind == "poll" and plugs.fanout().tally_changed(object_id, self.spawn):
            return
        key = (kind, object_id)
        self.dirty.add(key)
        if key not in self.flushers:
            self.flushers[key] = self.spawn(self._flush(key))

    async def _flush(self, key: tuple[str, int]) -> None:
        kind, object_id = key
        interval = _interval(kind)
        try:
            while key in self.dirty:
                wait = self.next_at.get(key, -math.inf) - self.loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                # Cleared before the read: a change committed during the read marks it again.
                self.dirty.discard(key)
                started = self.loop.time()
                try:
                    deliveries = await database_sync_to_async(plugs.read)(kind, object_id)
                    await self.publish(deliveries)
                except Exception:
                    log.exception("live: %s %s snapshot failed; the next change retries", *key)
                ended = self.loop.time()
                # At most one per interval, and never busier than idle: a fan-out to thousands
                # of sockets that took 0.4 s is followed by 0.4 s for votes, acks and connects.
                self.next_at[key] = max(started + interval, ended + (ended - started))
        finally:
            self.flushers.pop(key, None)

    def resync(self) -> None:
        """Sends every event this process has sockets for, state, tallies and every plugged
        kind, afresh."""
        for event_id in self.events_here():
            self.changed("event", event_id)
            self.changed("polls", event_id)
            for kind in list(plugs.kinds):
                self.changed(kind, event_id)

    def control(self, name: str, payload: dict[str, Any], *, publish: bool = False) -> None:
        if publish and self.bridge is not None:
            self.spawn(self.bridge.publish([name, payload], key="c"))
        handler = _CONTROLS.get(name)
        if handler is None:
            log.warning("live: no handler for control message %r", name)
            return
        try:
            handler(self, payload)
        except Exception:  # the Redis listener must outlive a bad control message
            log.exception("live: control message %r failed", name)

    # fan-out

    async def publish(self, deliveries: list[Delivery]) -> None:
        """To the other processes (Redis), then to this process's sockets."""
        if not deliveries:
            return
        if self.bridge is not None:
            await self.bridge.publish(deliveries)
        await self.deliver(deliveries)

    async def deliver(self, deliveries: Iterable[Delivery]) -> None:
        self.deliveries += 1
        for group, text, exclude in deliveries:
            members = self.groups.get(group)
            if not members:
                continue
            skip = self.groups.get(exclude, ()) if exclude else ()
            # One message dict and one frame for all: daphne only reads the dict.
            message = {"type": "websocket.send", "text": text}
            frame = transport.text_frame(text)
            for n, consumer in enumerate(list(members), 1):
                # Also one that left the group mid fan-out (a host demoted: no more counts).
                if consumer in skip or consumer not in members:
                    continue
                try:
                    await transport.send_frame(consumer, frame, message)
                except Exception:
                    log.debug("live: send to a closed socket dropped", exc_info=True)
                if n % 256 == 0:
                    await asyncio.sleep(0)  # let acks and reads through during a big fan-out


# ---------------------------------------------------------------- one hub per loop

_hub: Hub | None = None


def current() -> Hub:
    """The hub of the running loop (one per process; tests run a loop each)."""
    global _hub
    loop = asyncio.get_running_loop()
    if _hub is None or _hub.loop is not loop:
        _hub = Hub(loop)
    return _hub


def existing() -> Hub | None:
    """The hub, if one has started (any thread may read it; it is never made here)."""
    return _hub


def main_loop() -> asyncio.AbstractEventLoop | None:
    hub = _hub
    if hub is not None and hub.loop.is_running():
        return hub.loop
    # Code run by sync_to_async (Django views under daphne) knows the loop that called it.
    loop = transport.main_event_loop()
    if loop is not None and loop.is_running():
        return loop
    return None


# ---------------------------------------------------------------- sockets (on the loop)


async def connect(consumer: Any, *, slug: str) -> Connection | None:
    """Accepts the socket, registers it and sends the current state (see the module notes).

    Returns None, having closed the socket with CLOSE_NOT_FOUND, if the event does not exist.
    """
    hub = current()
    scope = consumer.scope

    async def read() -> Connection | None:
        reader = database_sync_to_async(plugs.plugged.connection)
        return await reader(slug=slug, session=scope.get("session"), user=scope.get("user"))

    mark = hub.deliveries
    connection = await read()
    await consumer.accept()
    if connection is None:
        await consumer.close(code=CLOSE_NOT_FOUND)
        return None
    consumer.connection = connection  # from now on a host re-check can demote it (hosts)
    await hub.register(consumer, connection)
    if hub.deliveries != mark:
        # A broadcast went out between the read and the registration: it may have missed us.
        # Host re-checks count as broadcasts: host rights read before one may have ended.
        was_host = connection.host
        fresh = await read()
        if fresh is not None and fresh.host and was_host and not connection.host:
            # Demoted while reading (that read may predate the change): read after it.
            fresh = await read()
        if fresh is None:
            await consumer.close(code=CLOSE_NOT_FOUND)
            return None
        if fresh.host != connection.host:
            await hub.unregister(consumer)
            await hub.register(consumer, fresh)
        consumer.connection = connection = fresh
    try:
        for text in connection.messages:
            await consumer.send(text_data=text)
    except Exception:
        # The client hung up while we read its state (a reconnect loop, a page closed mid-
        # connect): daphne refuses the send. It is gone; nothing to tell, nothing to keep.
        log.debug("live: a socket closed while it connected", exc_info=True)
        await hub.unregister(consumer)
        return None
    return connection


async def disconnect(consumer: Any) -> None:
    hub = _hub
    if hub is not None and hub.loop is asyncio.get_running_loop():
        await hub.unregister(consumer)


async def subscribe(consumer: Any, group: str) -> None:
    """Adds a connected socket to another group (e.g. its breakout room)."""
    current().groups.setdefault(group, set()).add(consumer)
    consumer.live_groups = {*getattr(consumer, "live_groups", ()), group}


async def unsubscribe(consumer: Any, group: str) -> None:
    current()._discard(group, consumer)
    consumer.live_groups = set(getattr(consumer, "live_groups", ())) - {group}
    await plugs.fanout().left(consumer, group)


async def shutdown() -> None:
    """Stops this loop's hub (its Redis subscription, flushers and writer). For tests and
    graceful exits; a running server never needs it."""
    global _hub
    hub = _hub
    if hub is None or hub.loop is not asyncio.get_running_loop():
        return
    _hub = None
    for task in list(hub.tasks):
        task.cancel()
    await asyncio.gather(*hub.tasks, return_exceptions=True)
    if hub.bridge is not None:
        await hub.bridge.publisher.aclose()


def members(group: str) -> set[Any]:
    """The sockets of a group connected to THIS process (a copy; empty before any socket)."""
    hub = _hub
    return hub.members(group) if hub is not None else set()


def stats() -> dict[str, Any]:
    """This process's realtime at a glance: groups, sockets, queued votes, Redis, transport."""
    hub = _hub
    groups: list[set[Any]] = []
    for _attempt in range(3):  # read from a view's thread while the loop may change it
        try:
            groups = [set(members) for members in list(hub.groups.values())] if hub else []
            break
        except RuntimeError:
            continue
    bridge = hub.bridge if hub is not None else None
    return {
        "groups": len(groups),
        "sockets": len(set().union(*groups)),
        "votes_queued": len(hub.writer.queue) if hub is not None else 0,
        "relay": bridge.stats() if bridge is not None else None,
        "transport": transport.stats(),
    }
