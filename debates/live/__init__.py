"""Realtime: group names, message types, coalesced snapshots, per-process fan-out, resync.

Read this first if you touch anything live. The contract for clients is in the team's
protocol notes; this is how the server keeps it.

The database is the source of truth
    Votes, polls and the event's phase live in the database. A socket message never carries
    a change ("+1 for"); it carries a *snapshot* read from the database: `tally.updated` holds
    a poll's counts at `Poll.version` (bumped in the transaction of every change), and
    `phase.changed` holds the event's state with `seq` (the time the state was read). A
    client keeps the highest version/seq it has seen and ignores older ones, so reordering,
    duplicates and a missed message are all harmless: the next snapshot repairs the view.

Who triggers a broadcast
    Services call `tally_changed(poll_id)` / `event_changed(event_id)` / `send(group, msg)`
    in `transaction.on_commit`, so nothing is announced that might roll back. These functions
    may be called from any thread: they hop onto the process's event loop (the one daphne
    runs, found through asgiref's thread-local) with `call_soon_threadsafe`.

Coalescing (at most 1 / TALLY_INTERVAL snapshots per poll per process)
    `tally_changed` only marks the poll dirty. One flusher task per dirty poll reads ONE
    snapshot, sends it, waits out the interval, and loops while the poll is dirty again. A
    thousand votes in a second cost four snapshot reads and four frames per socket. The next
    broadcast waits until the last has gone out (the flusher awaits the send), and at least as
    long again as that broadcast took, so fan-out never takes more than half of the loop.

Fan-out (no channel layer on the hot path)
    Each process keeps a registry of its own sockets per group (`event_group`, `hosts_group`,
    `room_group`). A snapshot is encoded to JSON and framed once, and the same websocket frame
    is handed to every local socket's kernel buffer (`_write_frame`; `consumer.base_send` where
    that is not possible): no per-socket encode, no per-socket channel-layer message, no thread
    hop per message, no per-socket trip through daphne and Twisted. Hosts get counts and turnout even while the results
    are hidden from the audience: a tally goes to `hosts_group` in full, and to the rest of
    `event_group` in its public form.

Several processes (REDIS_URL set)
    Each process holds ONE Redis pub/sub subscription (redis.asyncio, channel REDIS_CHANNEL).
    The process that read a snapshot publishes the encoded deliveries once; every other
    process writes them to its own sockets. Channels' Redis layer is not used for fan-out
    (it drops overflow and runs out of connections at a few hundred sockets). With several
    processes each coalesces its own votes, so a poll may see up to N snapshots per interval;
    the version check on the client makes that harmless. When the subscription drops and comes
    back, the process resends the state and tallies of every event it has sockets for.
    Presence (the console's "connected now") is counted by each process and reported to a
    Redis hash every PRESENCE_INTERVAL; `attendees_connected` adds up the fresh reports.

Votes over the socket: one writer per process
    `vote.cast` frames go into a queue. One asyncio task takes everything pending (up to
    WRITER_BATCH_MAX), applies it with `services.votes_cast_batch` in ONE transaction (one
    database_sync_to_async call), and only then answers each vote with `vote.acknowledged`
    (committed; with the poll version whose snapshot shows it) or `vote.refused` (with the
    reason). If the batch fails, its votes are retried
    one by one, so one bad row never costs the others; a vote that still fails is refused
    with VOTE_NOT_SAVED. The HTTP paths call `services.vote_cast`, the same rules.
    The queue holds at most one vote per attendee and poll (only the last vote counts): a
    newer one takes the queued one's place and turn, and the one it replaced, never written,
    is answered at once with `vote.replaced` ({"ref", "poll"}): not acknowledged (it was not
    committed) and not refused (the attendee's newer vote is on its way and gets its own
    answer). A vote being written is not replaced: a newer one queues behind it. The queue
    never holds more than WRITER_QUEUE_MAX votes; a vote beyond that is refused with
    VOTE_QUEUE_FULL, never dropped. `votes_queued()` reads its size.

Flooding (debates.live.budget)
    Every client frame (any type, even a malformed one) costs its socket one token of a bucket
    of FRAME_BURST (60), refilled at FRAME_RATE (20) a second. A socket that sends faster is
    closed with CLOSE_TOO_MANY_FRAMES (4429). Under daphne frames are counted as they arrive,
    before daphne queues them for the consumer; on the close daphne stops reading the socket,
    and frames that still arrive cost nothing (not queued, parsed or answered). Those queued
    before the close are handled as usual: a vote among them may be committed with its answer
    lost on the closed socket, and the next connect's `you.synced` shows it. The page
    (static/js/live.js) reconnects after a 4429 only after 60-120 s, and says why.

Connect and reconnect
    `connect()` reads who the socket is (attendee of the event from the session, host, or a
    viewer such as the projector), registers it, and sends at once: the event state
    (`phase.changed`), a `tally.updated` for every poll that is not a draft, and `you.synced`
    (this attendee's votes re-read from the database). If a broadcast went out while the
    state was being read, it is read again, so a connecting socket never misses a change; a
    host re-check counts as one, and the socket is registered again as what the second read
    found (host rights that ended meanwhile are not kept).

Rooms and presence (host console)
    An attendee's socket also joins `room_group` of their breakout room: on connect, and again
    when the client sends `room.sync` (after `round.started`, a `room.assigned` naming them, or
    `round.ended`); the consumer re-reads the room from the database, never from the client.
    `attendees_connected(event_id)` counts distinct attendees with a socket on this process.
    Host console messages (`round.*`, `timer.changed`, `message.broadcast`, `room.*`,
    `point.*`, `highlights.changed`, `takeaways.changed`) are built in debates.services and
    sent with `send`; debates.commands lists the `host.command` names a console may send.

Host rights ending (control messages)
    A host socket's rights are read once, at connect. When they may have ended (the host link
    rotated, an organiser or a linked host/moderator speaker changed, a user deactivated), the
    change is announced on commit with `control("hosts.changed", ...)`: ONE message per change,
    sent to every process through the same Redis channel as deliveries (`{"o", "c"}` instead of
    `{"o", "d"}`). Each process acts on it for its own sockets (debates.live.hosts): it re-checks
    its host sockets of the event (or of the user) in one database call per event, and a socket
    that is no longer a host leaves `hosts_group` at once, its `Connection.host` turns False, and
    it is sent `{"type": "host.revoked", "event": N}`. The socket stays open as an audience
    socket (public tallies only); a host command from it is closed with 4403 as before.
    live.js on the console shows that the host link changed and stops reconnecting.

Baseline for the benchmark only
    PB_FANOUT=group_send switches tallies to the plain Channels way: every committed vote is
    its own transaction and its own `channel_layer.group_send` to a group of all sockets, and
    each consumer forwards it (`live.forward`). It exists so bench/ can measure what the
    design above gains. Never use it in production.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import json
import logging
import math
import os
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from asgiref.sync import SyncToAsync
from channels.db import database_sync_to_async
from channels.layers import DEFAULT_CHANNEL_LAYER, get_channel_layer
from django.conf import settings
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy

log = logging.getLogger(__name__)

TALLY_INTERVAL = 0.25  # seconds between two snapshots of one poll (per process)
EVENT_INTERVAL = 0.25  # seconds between two event-state snapshots of one event
WRITER_BATCH_MAX = 2000  # votes committed in one transaction at most
# Votes waiting for the writer, at most: one per attendee and poll is the most an honest crowd
# queues, and one process holds 10,000 sockets (BENCHMARKS.md). About 4 MB when full.
WRITER_QUEUE_MAX = 10_000
MAX_FRAME = 4096  # characters; a larger client frame is refused with CLOSE_BAD_MESSAGE
REF_MAX = 64  # a client's vote reference, echoed back
REDIS_CHANNEL = "productbreaks.live"
PRESENCE_INTERVAL = 2.0  # seconds between two reports of a process's presence to Redis
PRESENCE_TTL = 10.0  # a process that has not reported for this long no longer counts
STAGE_CACHE_SECONDS = 2.0  # a connect storm renders the event page's stage once per event

CLOSE_BAD_MESSAGE = 4400  # malformed JSON, unknown type, oversized or binary frame
CLOSE_FORBIDDEN = 4403  # e.g. a vote from a socket that is not an attendee of the event
CLOSE_NOT_FOUND = 4404  # no such event
CLOSE_TOO_MANY_FRAMES = 4429  # more frames than debates.live.budget allows a socket

VOTE_QUEUE_FULL = gettext_lazy("Too many votes are waiting to be saved. Please vote again.")

_NO_LAYER = "productbreaks-no-layer"  # an alias that is not configured: consumers get no layer


# ---------------------------------------------------------------- names


def event_group(event_id: int) -> str:
    """Every socket of an event: attendees, viewers (projector), hosts."""
    return f"event-{event_id}"


def room_group(room_id: int) -> str:
    return f"room-{room_id}"


def hosts_group(event_id: int) -> str:
    """The event's hosts (console): they see counts while results are hidden."""
    return f"hosts-{event_id}"


def fanout_mode() -> str:
    """'direct' (the design above) or 'group_send' (bench baseline, PB_FANOUT=group_send)."""
    return "group_send" if os.environ.get("PB_FANOUT") == "group_send" else "direct"


def consumer_layer_alias() -> str:
    """The channel layer a consumer uses: none at all, except in the bench baseline."""
    return DEFAULT_CHANNEL_LAYER if fanout_mode() == "group_send" else _NO_LAYER


def encode(message: Mapping[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


# A delivery: (group, encoded text, group to skip or None). Several make one broadcast.
Delivery = tuple[str, str, str | None]


# ---------------------------------------------------------------- public API (any thread)


def tally_changed(poll_id: int) -> None:
    """A poll's tally or state changed (call after commit): a coalesced snapshot goes out."""
    _dispatch(lambda hub: hub.changed("poll", poll_id), lambda: _tally_deliveries(poll_id))


def event_changed(event_id: int) -> None:
    """Phase, round, timer, message or presence changed (after commit): the event state goes
    to every socket of the event (coalesced like tallies)."""
    _dispatch(lambda hub: hub.changed("event", event_id), lambda: _event_deliveries(event_id))


def send(group: str, message: Mapping[str, Any]) -> None:
    """A JSON-safe dict to every socket in a group, in every process (call after commit).

    Encoded once, here; not coalesced (use it for rare messages, not for per-vote traffic).
    """
    deliveries: list[Delivery] = [(group, encode(message), None)]
    _dispatch(lambda hub: hub.spawn(hub.publish(deliveries)), lambda: deliveries)


def control(name: str, payload: Mapping[str, Any]) -> None:
    """A control message to every process (call after commit): each runs the handler
    registered for `name` (control_register) for its own sockets. JSON-safe payload."""
    body = [name, dict(payload)]
    _dispatch(lambda hub: hub.control(*body, publish=True), lambda: body, key="c")


_CONTROLS: dict[str, Callable[[Any, dict[str, Any]], None]] = {}


def control_register(name: str, handler: Callable[[Any, dict[str, Any]], None]) -> None:
    """`handler(hub, payload)` runs on the event loop of every process a message reaches."""
    _CONTROLS[name] = handler


def connected(event_id: int) -> int:
    """Sockets of an event connected to THIS process (see attendees_connected for all)."""
    hub = _HUB
    return len(hub.groups.get(event_group(event_id), ())) if hub else 0


def attendees_connected(event_id: int) -> int:
    """Attendees with a page of the event open: the console's "connected now" (hosts and the
    projector are not counted, nor an attendee's second tab).

    With REDIS_URL, every process reports its own count to Redis every PRESENCE_INTERVAL and
    this adds up the fresh reports of the others (one HGETALL): an attendee with tabs on two
    processes counts twice, and a change shows within a few seconds.
    """
    hub = _HUB
    local = hub.attendees_here(event_id) if hub is not None else 0
    if not settings.REDIS_URL:
        return local
    own = hub.bridge.origin if hub is not None and hub.bridge is not None else None
    return local + _presence_elsewhere(event_id, own_origin=own)


# ---------------------------------------------------------------- snapshots (sync, in a thread)


def _tally_deliveries(poll_id: int) -> list[Delivery]:
    from debates import selectors

    snapshot = selectors.poll_snapshot(poll_id=poll_id)
    if snapshot is None:
        return []
    return _tally_deliveries_of(snapshot)


def _tally_deliveries_of(snapshot: Any) -> list[Delivery]:
    full = encode(snapshot.message(full=True))
    public = full if snapshot.visible_to_attendees else encode(snapshot.message(full=False))
    hosts = hosts_group(snapshot.event_id)
    return [(hosts, full, None), (event_group(snapshot.event_id), public, hosts)]


_stage_cache: dict[int, tuple[float, tuple, str]] = {}


def stage_html(event: Any, snapshots: list[Any], *, fresh: bool = False) -> str:
    """The event page's live "stage" (phase, polls, tallies) as pushed to every socket.

    Rendered for the audience (no one's own vote; live.js marks that from `you.synced`).
    Cached briefly per event so a reconnect storm renders it once; a broadcast always renders
    it fresh (`fresh=True`) and refreshes the cache.
    """
    key = (event.phase, tuple((s.id, s.version, s.state) for s in snapshots))
    cached = _stage_cache.get(event.pk)
    now = time.monotonic()
    if not fresh and cached and cached[1] == key and now - cached[0] < STAGE_CACHE_SECONDS:
        return cached[2]
    html = render_to_string(
        "debates/event.html#stage", {"event": event, "polls": snapshots, "my_votes": {}}
    )
    _stage_cache[event.pk] = (now, key, html)
    return html


def event_message(event: Any, snapshots: list[Any], *, fresh: bool = False) -> dict[str, Any]:
    return {
        "type": "phase.changed",
        "event": event.pk,
        "seq": time.time_ns() // 1000,
        "phase": event.phase,
        "label": str(event.get_phase_display()),
        "html": stage_html(event, snapshots, fresh=fresh),
    }


def _event_polls_deliveries(event_id: int) -> list[Delivery]:
    """Every poll of the event that is not a draft, as tally deliveries (for a resync)."""
    from debates import selectors

    deliveries: list[Delivery] = []
    for snapshot in selectors.poll_snapshots(event_id=event_id):
        deliveries += _tally_deliveries_of(snapshot)
    return deliveries


def _event_deliveries(event_id: int) -> list[Delivery]:
    from debates import selectors
    from events.models import Event

    seq_before_read = time.time_ns() // 1000
    event = Event.objects.filter(pk=event_id).first()
    if event is None:
        return []
    message = event_message(event, selectors.poll_snapshots(event_id=event_id), fresh=True)
    message["seq"] = seq_before_read  # what the read is guaranteed to include
    return [(event_group(event_id), encode(message), None)]


@dataclass
class Connection:
    """What a socket is, and what it must be sent the moment it connects."""

    event_id: int
    attendee_id: int | None
    host: bool
    messages: list[str]


def connection_read(*, slug: str, session: Any, user: Any) -> Connection | None:
    """Who the socket is and the current state of everything it shows. Sync; a few queries."""
    from debates import selectors
    from events.models import Event

    seq_before_read = time.time_ns() // 1000
    event = Event.objects.filter(slug=slug).first()
    if event is None:
        return None
    attendee = selectors.attendee_for_session(event=event, session=session)
    host = selectors.can_host(event=event, user=user, session=session)
    snapshots = selectors.poll_snapshots(event_id=event.pk)
    state = event_message(event, snapshots)
    state["seq"] = seq_before_read
    votes = selectors.votes_of(attendee_id=attendee.pk) if attendee else {}
    you = {
        "type": "you.synced",
        "attendee": attendee is not None,
        "host": host,
        "name": attendee.public_name if attendee else "",
        "votes": {str(poll_id): side for poll_id, side in votes.items()},
    }
    messages = [encode(state)]
    messages += [encode(s.message(full=host)) for s in snapshots]
    messages.append(encode(you))
    return Connection(
        event_id=event.pk,
        attendee_id=attendee.pk if attendee else None,
        host=host,
        messages=messages,
    )


# ---------------------------------------------------------------- sockets (on the loop)


async def connect(consumer: Any, *, slug: str) -> Connection | None:
    """Accepts the socket, registers it and sends the current state (see module docstring).

    Returns None, having closed the socket with CLOSE_NOT_FOUND, if the event does not exist.
    """
    hub = _hub()
    scope = consumer.scope
    read = database_sync_to_async(connection_read)
    mark = hub.deliveries
    connection = await read(slug=slug, session=scope.get("session"), user=scope.get("user"))
    await consumer.accept()
    if connection is None:
        await consumer.close(code=CLOSE_NOT_FOUND)
        return None
    consumer.connection = connection  # from now on a host re-check can demote it (live_hosts)
    await hub.register(consumer, connection)
    if hub.deliveries != mark:
        # A broadcast went out between the read and the registration: it may have missed us.
        # Host re-checks count as broadcasts: host rights read before one may have ended.
        was_host = connection.host
        fresh = await read(slug=slug, session=scope.get("session"), user=scope.get("user"))
        if fresh is not None and fresh.host and was_host and not connection.host:
            # Demoted while reading (that read may predate the change): read after it.
            fresh = await read(slug=slug, session=scope.get("session"), user=scope.get("user"))
        if fresh is None:
            await consumer.close(code=CLOSE_NOT_FOUND)
            return None
        if fresh.host != connection.host:
            await hub.unregister(consumer)
            await hub.register(consumer, fresh)
        consumer.connection = connection = fresh
    for text in connection.messages:
        await consumer.send(text_data=text)
    return connection


async def disconnect(consumer: Any) -> None:
    hub = _HUB
    if hub is not None and hub.loop is asyncio.get_running_loop():
        await hub.unregister(consumer)


async def subscribe(consumer: Any, group: str) -> None:
    """Adds a connected socket to another group (e.g. its breakout room)."""
    _hub().groups.setdefault(group, set()).add(consumer)
    consumer.live_groups = {*getattr(consumer, "live_groups", ()), group}


async def unsubscribe(consumer: Any, group: str) -> None:
    hub = _hub()
    members = hub.groups.get(group)
    if members is not None:
        members.discard(consumer)
        if not members:
            del hub.groups[group]
    consumer.live_groups = set(getattr(consumer, "live_groups", ())) - {group}


async def shutdown() -> None:
    """Stops this loop's hub (its Redis subscription, flushers and writer). For tests and
    graceful exits; a running server never needs it."""
    global _HUB
    hub = _HUB
    if hub is None or hub.loop is not asyncio.get_running_loop():
        return
    _HUB = None
    for task in list(hub.tasks):
        task.cancel()
    await asyncio.gather(*hub.tasks, return_exceptions=True)
    if hub.bridge is not None:
        await hub.bridge.publisher.aclose()


async def vote_submit(consumer: Any, *, ballot: Any, ref: str) -> None:
    """Queues a socket vote for the process's writer; answered after commit (or at once,
    if it replaces a queued vote or the queue is full: see the module notes)."""
    await _hub().writer.submit(consumer, ballot, ref)


def votes_queued(*, attendee_id: int | None = None, poll_id: int | None = None) -> int:
    """Socket votes waiting for this process's writer (not those being written), optionally
    of one attendee and/or poll: at most WRITER_QUEUE_MAX, at most 1 per attendee and poll."""
    hub = _HUB
    if hub is None:
        return 0
    return sum(
        1
        for attendee, poll in hub.writer.queue
        if attendee_id in (None, attendee) and poll_id in (None, poll)
    )


# ---------------------------------------------------------------- frames straight to the socket
# A fan-out frame through consumer.base_send costs daphne ~40-90 us per socket: daphne's reply
# handling, autobahn's framing, and Twisted registering the socket with epoll for writing and
# unregistering it after every frame. Built once and handed to the kernel with socket.send it
# costs ~11 us (python -m bench.frames). Only for daphne's plain TCP/unix transports, only while
# the socket is open, and never ahead of bytes Twisted still holds (that would reorder frames).

DAPHNE_PROTOCOL = "productbreaks.daphne_protocol"


def daphne_protocol_middleware(app: Callable) -> Callable:
    """Outermost on websockets: keeps daphne's protocol object in the scope for _write_frame.

    daphne calls the application with send=partial(server.handle_reply, protocol).
    """
    from functools import partial

    async def middleware(scope: dict, receive: Callable, send: Callable) -> None:
        if isinstance(send, partial) and send.args and hasattr(send.args[0], "STATE_OPEN"):
            scope = {**scope, DAPHNE_PROTOCOL: send.args[0]}
        return await app(scope, receive, send)

    return middleware


def _text_frame(text: str) -> bytes:
    """An unmasked, unfragmented server-to-client text frame (RFC 6455 section 5.2)."""
    data = text.encode()
    n = len(data)
    if n < 126:
        return bytes((0x81, n)) + data
    if n < 65536:
        return bytes((0x81, 126)) + n.to_bytes(2, "big") + data
    return bytes((0x81, 127)) + n.to_bytes(8, "big") + data


def _write_frame(protocol: Any, frame: bytes) -> bool:
    """Writes the frame to daphne's socket; False: not possible here, use base_send."""
    from twisted.internet.tcp import Connection

    if protocol is None or protocol.state != protocol.STATE_OPEN:
        return False
    transport = protocol.transport
    # TLS (or any wrapping transport) must go through Twisted.
    if not isinstance(transport, Connection) or transport.disconnecting:
        return False
    if transport.dataBuffer or transport._tempDataBuffer:
        transport.write(frame)  # behind what is queued, in order
        return True
    try:
        sent = transport.socket.send(frame)
    except BlockingIOError:
        sent = 0
    except OSError:
        return False
    if sent < len(frame):
        transport.write(frame[sent:])
    return True


async def _send_text(consumer: Any, text: str) -> None:
    try:
        await consumer.base_send({"type": "websocket.send", "text": text})
    except Exception:
        log.debug("send to a closed socket dropped", exc_info=True)


# ---------------------------------------------------------------- the per-process hub


class _Hub:
    """All live state of one process (of one event loop, in tests)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.groups: dict[str, set[Any]] = {}
        self.dirty: set[tuple[str, int]] = set()
        self.flushers: dict[tuple[str, int], asyncio.Task] = {}
        self.next_at: dict[tuple[str, int], float] = {}  # earliest next snapshot, per key
        self.deliveries = 0  # broadcasts delivered so far; connect() watches it
        self.tasks: set[asyncio.Task] = set()
        self.writer = _VoteWriter(self)
        self.bridge = _RedisBridge(self, settings.REDIS_URL) if settings.REDIS_URL else None

    def spawn(self, coro: Any) -> asyncio.Task:
        # A fresh context: a task spawned on behalf of a sync thread must not inherit asgiref's
        # "inside the sync thread" markers (database_sync_to_async would refuse to run).
        task = self.loop.create_task(coro, context=contextvars.Context())
        self.tasks.add(task)  # a strong reference, or the task may be collected mid-flight
        task.add_done_callback(self.tasks.discard)
        return task

    # registry

    def attendees_here(self, event_id: int) -> int:
        """Distinct attendees of an event with a socket on this process."""
        for _attempt in range(3):
            try:
                # Read from a view's thread while the loop may add a socket: copy, retry if it moved.
                members = list(self.groups.get(event_group(event_id), ()))
            except RuntimeError:
                continue
            return len(
                {
                    connection.attendee_id
                    for connection in (getattr(m, "connection", None) for m in members)
                    if connection is not None and connection.attendee_id is not None
                }
            )
        return len(self.groups.get(event_group(event_id), ()))

    def events_here(self) -> list[int]:
        prefix = event_group(0).removesuffix("0")
        return [int(g.removeprefix(prefix)) for g in list(self.groups) if g.startswith(prefix)]

    async def register(self, consumer: Any, connection: Connection) -> None:
        groups = {event_group(connection.event_id)}
        if connection.host:
            groups.add(hosts_group(connection.event_id))
        for group in groups:
            self.groups.setdefault(group, set()).add(consumer)
        consumer.live_groups = groups
        if fanout_mode() == "group_send" and getattr(consumer, "channel_layer", None):
            # Baseline: hosts hear tallies in full on their group, everyone else on the event's.
            layer_group = (hosts_group if connection.host else event_group)(connection.event_id)
            await consumer.channel_layer.group_add(layer_group, consumer.channel_name)
            consumer.live_layer_group = layer_group
        if self.bridge is not None:
            await self.bridge.ready()

    async def unregister(self, consumer: Any) -> None:
        for group in getattr(consumer, "live_groups", ()):
            members = self.groups.get(group)
            if members is not None:
                members.discard(consumer)
                if not members:
                    del self.groups[group]
        consumer.live_groups = set()
        layer_group = getattr(consumer, "live_layer_group", None)
        if layer_group and getattr(consumer, "channel_layer", None):
            await consumer.channel_layer.group_discard(layer_group, consumer.channel_name)

    # coalescing

    def changed(self, kind: str, object_id: int) -> None:
        if kind == "poll" and fanout_mode() == "group_send":
            self.spawn(self._baseline_tally(object_id))
            return
        key = (kind, object_id)
        self.dirty.add(key)
        if key not in self.flushers:
            self.flushers[key] = self.spawn(self._flush(key))

    async def _flush(self, key: tuple[str, int]) -> None:
        kind, object_id = key
        interval = TALLY_INTERVAL if kind == "poll" else EVENT_INTERVAL
        read = _READERS[kind]
        try:
            while key in self.dirty:
                wait = self.next_at.get(key, -math.inf) - self.loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                # Cleared before the read: a change committed during the read marks it again.
                self.dirty.discard(key)
                started = self.loop.time()
                try:
                    deliveries = await database_sync_to_async(read)(object_id)
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
        """Sends every event this process has sockets for, state and tallies, afresh."""
        prefix = event_group(0).removesuffix("0")
        for group in list(self.groups):
            if group.startswith(prefix):
                event_id = int(group.removeprefix(prefix))
                self.changed("event", event_id)
                self.changed("polls", event_id)

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
            frame = _text_frame(text)
            for n, consumer in enumerate(list(members), 1):
                # Also one that left the group mid fan-out (a host demoted: no more counts).
                if consumer in skip or consumer not in members:
                    continue
                try:
                    if not _write_frame(consumer.scope.get(DAPHNE_PROTOCOL), frame):
                        await consumer.base_send(message)
                except Exception:
                    log.debug("live: send failed", exc_info=True)
                if n % 256 == 0:
                    await asyncio.sleep(0)  # let acks and reads through during a big fan-out

    # bench baseline

    async def _baseline_tally(self, poll_id: int) -> None:
        layer = get_channel_layer()
        deliveries = await database_sync_to_async(_tally_deliveries)(poll_id)
        for group, text, _exclude in deliveries:
            await layer.group_send(group, {"type": "live.forward", "text": text})


class _VoteWriter:
    """One per process: commits pending socket votes in one transaction, then answers them.

    The queue is keyed by (attendee, poll), oldest first: at most one vote each, at most
    WRITER_QUEUE_MAX in all (see the module notes).
    """

    def __init__(self, hub: _Hub) -> None:
        self.hub = hub
        self.queue: dict[tuple[int, int], tuple[Any, Any, str]] = {}
        self.task: asyncio.Task | None = None

    async def submit(self, consumer: Any, ballot: Any, ref: str) -> None:
        key = (ballot.attendee_id, ballot.poll_id)
        older = self.queue.get(key)
        if older is None and len(self.queue) >= WRITER_QUEUE_MAX:
            answer = {"type": "vote.refused", "ref": ref, "poll": ballot.poll_id}
            await _send_text(consumer, encode(answer | {"reason": str(VOTE_QUEUE_FULL)}))
            return
        self.queue[key] = (consumer, ballot, ref)  # a replacement keeps the older one's turn
        if self.task is None:
            self.task = self.hub.spawn(self.run())
        if older is not None:
            replaced = {"type": "vote.replaced", "ref": older[2], "poll": ballot.poll_id}
            await _send_text(older[0], encode(replaced))

    async def run(self) -> None:
        try:
            while self.queue:
                # Baseline: one vote per transaction, the way a plain consumer would write.
                size = 1 if fanout_mode() == "group_send" else WRITER_BATCH_MAX
                batch = [self.queue.pop(key) for key in list(itertools.islice(self.queue, size))]
                reasons, versions = await self.write([ballot for _, ballot, _ in batch])
                for (consumer, ballot, ref), reason in zip(batch, reasons, strict=True):
                    if reason is None:
                        answer = {"type": "vote.acknowledged", "ref": ref}
                        answer |= {"poll": ballot.poll_id, "side": ballot.side}
                        # The tally snapshot with this version (or later) shows the vote.
                        answer["version"] = versions[ballot.poll_id]
                    else:
                        answer = {"type": "vote.refused", "ref": ref}
                        answer |= {"poll": ballot.poll_id, "reason": reason}
                    await _send_text(consumer, encode(answer))
        finally:
            self.task = None

    async def write(self, ballots: list[Any]) -> tuple[list[str | None], dict[int, int]]:
        """(reason or None per ballot, committed version per poll)."""
        from debates import services

        cast = database_sync_to_async(services.votes_cast_batch)
        try:
            result = await cast(ballots=ballots)
            return result.reasons, result.versions
        except Exception:
            log.exception("live: a batch of %d votes failed; retrying one by one", len(ballots))
        reasons: list[str | None] = []
        versions: dict[int, int] = {}
        for ballot in ballots:
            try:
                result = await cast(ballots=[ballot])
            except Exception:
                log.exception("live: a vote could not be saved")
                reasons.append(str(services.VOTE_NOT_SAVED))
                continue
            reasons += result.reasons
            versions |= result.versions
        return reasons, versions


class _RedisBridge:
    """One Redis pub/sub subscription per process; deliveries cross processes through it."""

    def __init__(self, hub: _Hub, url: str) -> None:
        import redis.asyncio as aioredis

        self.hub = hub
        self.url = url
        self.origin = uuid.uuid4().hex
        self.name = f"productbreaks-live-{self.origin[:12]}"
        self.publisher = aioredis.Redis.from_url(url)
        self.subscribed = asyncio.Event()
        self.subscriptions = 0
        self.reported: set[int] = set()  # events whose presence this process last reported
        hub.spawn(self.listen())
        hub.spawn(self.report_presence())

    async def ready(self, timeout: float = 3.0) -> None:
        """Waits (once, briefly) for the subscription, so a first socket misses nothing."""
        if self.subscribed.is_set():
            return
        try:
            await asyncio.wait_for(self.subscribed.wait(), timeout)
        except TimeoutError:
            log.warning("live: Redis subscription not ready; other processes' broadcasts wait")

    async def publish(self, body: list[Any], key: str = "d") -> None:
        """Deliveries ("d") or a control message ("c") to the other processes."""
        try:
            await self.publisher.publish(REDIS_CHANNEL, encode({"o": self.origin, key: body}))
        except Exception:
            log.warning("live: Redis publish failed", exc_info=True)

    async def report_presence(self) -> None:
        """Every PRESENCE_INTERVAL: this process's attendee count per event, into one Redis
        hash per event (field: this process). An event that emptied is reported once as 0."""
        while True:
            await asyncio.sleep(PRESENCE_INTERVAL)
            counts = {
                event_id: self.hub.attendees_here(event_id) for event_id in self.hub.events_here()
            }
            stamp = f"{time.time():.3f}"
            try:
                async with self.publisher.pipeline(transaction=False) as pipe:
                    for event_id in self.reported | counts.keys():
                        key = presence_key(event_id)
                        pipe.hset(key, self.origin, f"{counts.get(event_id, 0)}:{stamp}")
                        pipe.expire(key, int(PRESENCE_TTL * 3))
                    await pipe.execute()
            except Exception:
                log.warning("live: reporting presence to Redis failed", exc_info=True)
                continue
            self.reported = set(counts)

    async def listen(self) -> None:
        import redis.asyncio as aioredis

        delay = 0.5
        while True:
            # Named, so CLIENT LIST tells each process's subscription apart.
            client = aioredis.Redis.from_url(self.url, client_name=self.name)
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(REDIS_CHANNEL)
                delay = 0.5
                async for item in pubsub.listen():
                    if item.get("type") == "subscribe":
                        # Also after redis-py reconnects by itself (it resubscribes silently):
                        # what was published while we were away is lost, so resend what we show.
                        self.subscriptions += 1
                        if self.subscriptions > 1:
                            self.hub.resync()
                        self.subscribed.set()
                        continue
                    if item.get("type") != "message":
                        continue
                    envelope = json.loads(item["data"])
                    if envelope.get("o") == self.origin:
                        continue
                    if "c" in envelope:
                        self.hub.control(*envelope["c"])
                    else:
                        await self.hub.deliver(envelope["d"])
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("live: Redis subscription lost; retrying", exc_info=True)
            finally:
                self.subscribed.clear()
                try:
                    await pubsub.aclose()
                    await client.aclose()
                except Exception:
                    log.debug("live: closing the Redis subscription failed", exc_info=True)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def presence_key(event_id: int) -> str:
    return f"productbreaks.presence.{event_id}"


_presence_client: Any = None


def _presence_elsewhere(event_id: int, *, own_origin: str | None) -> int:
    """Attendees connected to the other processes, from their fresh reports (sync: views)."""
    global _presence_client
    import redis

    if _presence_client is None:
        _presence_client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
    try:
        reports = _presence_client.hgetall(presence_key(event_id))
    except redis.RedisError:
        log.warning("live: reading presence from Redis failed", exc_info=True)
        return 0
    total, now = 0, time.time()
    for origin, value in reports.items():
        count, _sep, stamp = value.decode().partition(":")
        # A process that died stops reporting: its last count ages out.
        if origin.decode() != own_origin and now - float(stamp or 0) <= PRESENCE_TTL:
            total += int(count or 0)
    return total


_READERS: dict[str, Callable[[int], list[Delivery]]] = {
    "poll": _tally_deliveries,
    "event": _event_deliveries,
    "polls": _event_polls_deliveries,
}

# ---------------------------------------------------------------- loop plumbing

_HUB: _Hub | None = None


def _hub() -> _Hub:
    """The hub of the running loop (one per process; tests run a loop each)."""
    global _HUB
    loop = asyncio.get_running_loop()
    if _HUB is None or _HUB.loop is not loop:
        _HUB = _Hub(loop)
    return _HUB


def _main_loop() -> asyncio.AbstractEventLoop | None:
    hub = _HUB
    if hub is not None and hub.loop.is_running():
        return hub.loop
    # Code run by sync_to_async (Django views under daphne) knows the loop that called it.
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is not None and loop.is_running():
        return loop
    return None


def _dispatch(
    on_loop: Callable[[_Hub], Any], read: Callable[[], list[Any]], *, key: str = "d"
) -> None:
    """Runs `on_loop(hub)` on the process's event loop, from whatever thread we are in.

    With no event loop in this process (a management command, the sync test client) no local
    socket can be listening; the deliveries (or the control message, key "c") are read now and
    published to Redis if there is one.
    """
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is not None:
        on_loop(_hub())
        return
    loop = _main_loop()
    if loop is not None:
        loop.call_soon_threadsafe(lambda: on_loop(_hub()), context=contextvars.Context())
        return
    if settings.REDIS_URL:
        import redis

        deliveries = read()
        if deliveries:
            client = redis.Redis.from_url(settings.REDIS_URL)
            try:
                client.publish(REDIS_CHANNEL, encode({"o": "sync", key: deliveries}))
            finally:
                client.close()
