"""What the debate plugs into realtime (debates.realtime, in DebatesConfig.ready), and the
fan-out hook bench/baseline.py uses. Realtime imports nothing of the debate: it calls these.

Readers are sync and run in a worker thread (database_sync_to_async), one snapshot each:

- `tally(poll_id)` and `polls(event_id)` (every poll that is not a draft) return deliveries,
  built with protocol.tally_deliveries: a poll's tally in full to its hosts, public to the rest;
- `event(event_id)` returns the event state (`phase.changed`, with the stage's HTML) delivery;
- `connection(slug=, session=, user=)` returns a `Connection`, or None for no such event.

`votes(ballots)` writes a batch of socket votes in ONE transaction and returns (a refusal
reason or None per ballot, the committed version per poll); `vote_not_saved` is the reason a
vote gets when even its own transaction fails. `hosts(event_id, holders)` says, in one database
call per event, whether each (user id, session key) may still host the event.

Adding a live snapshot kind (questions, reactions, a clock: anything live beyond tallies and the
event state) takes three steps, and never a message per action per listener:

1. A reader `reader(event_id) -> list[Delivery]` (sync, one snapshot read from the database,
   built with a protocol.py builder, carrying a version) and, if a (re)connecting socket needs
   it at once, `on_connect(event_id=, attendee_id=, host=) -> list[str]` (encoded messages,
   e.g. the snapshot plus this attendee's own marks). Plug both in from debates.realtime.plug_in
   with `live.plug_kind("questions", reader, on_connect=..., interval=0.5)`.
2. The service announces after commit: `transaction.on_commit(partial(live.changed,
   "questions", event_id))`. The hub coalesces: at most one read and one fan-out per event per
   `interval`, however many changes.
3. The debate's connection reader (debates.realtime.connection_read) sends every kind's
   `on_connect` messages with the state, and a process that lost Redis re-reads every kind of
   every event it holds sockets for (hub.resync).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from debates.live.protocol import Delivery

WRITER_BATCH_MAX = 2000  # votes committed in one transaction at most

# A holder is what a socket is: (user id or None, session key or None).
Holder = tuple[int | None, str | None]


@dataclass
class Connection:
    """What a socket is, and what it must be sent the moment it connects (encoded messages)."""

    event_id: int
    attendee_id: int | None
    host: bool
    messages: list[str]
    # More groups the socket joins as it registers (an attendee's breakout room), read with the
    # rest: no second trip to the database thread per connect.
    groups: tuple[str, ...] = ()


def _missing(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError("debates.live: nothing is plugged in (see debates.realtime)")


@dataclass
class Plugged:
    tally: Callable[[int], list[Delivery]] = _missing
    polls: Callable[[int], list[Delivery]] = _missing
    event: Callable[[int], list[Delivery]] = _missing
    connection: Callable[..., Connection | None] = _missing
    votes: Callable[[list[Any]], tuple[list[str | None], dict[int, int]]] = _missing
    vote_not_saved: Any = ""  # a message, e.g. gettext_lazy; str() when sent
    hosts: Callable[[int, list[Holder]], list[bool]] | None = None


plugged = Plugged()


@dataclass(frozen=True)
class Kind:
    """A live snapshot kind the debate plugged in (see "Adding a live snapshot kind" above)."""

    reader: Callable[[int], list[Delivery]]
    interval: float
    on_connect: Callable[..., list[str]] | None


BUILT_IN_KINDS = frozenset({"poll", "polls", "event"})
kinds: dict[str, Kind] = {}


def plug_kind(
    name: str,
    reader: Callable[[int], list[Delivery]],
    *,
    interval: float = 0.5,
    on_connect: Callable[..., list[str]] | None = None,
) -> None:
    """Registers a per-event snapshot kind: `reader(event_id)` runs in a worker thread at most
    once per `interval` seconds per event, however often `announce.changed(name, event_id)`."""
    if name in BUILT_IN_KINDS:
        raise ValueError(f"debates.live.plug_kind: {name!r} is built in")
    if interval <= 0:
        raise ValueError("debates.live.plug_kind: the interval must be positive")
    kinds[name] = Kind(reader=reader, interval=interval, on_connect=on_connect)


def on_connect_messages(*, event_id: int, attendee_id: int | None, host: bool) -> list[str]:
    """What every plugged kind sends a socket as it (re)connects (sync: the connection read)."""
    messages: list[str] = []
    for kind in kinds.values():
        if kind.on_connect is not None:
            messages += kind.on_connect(event_id=event_id, attendee_id=attendee_id, host=host)
    return messages


def plug(**parts: Any) -> None:
    """Registers the debate's readers, vote writer and host checker (any of them)."""
    for name, value in parts.items():
        if name not in Plugged.__dataclass_fields__:
            raise TypeError(f"debates.live.plug: unknown part {name!r}")
        setattr(plugged, name, value)


def read(kind: str, object_id: int) -> list[Delivery]:
    """A snapshot's deliveries: kind is "poll" (a tally), "polls", "event" or a plugged kind
    (sync)."""
    if kind in kinds:
        return kinds[kind].reader(object_id)
    reader = {"poll": plugged.tally, "polls": plugged.polls, "event": plugged.event}[kind]
    return reader(object_id)


class Fanout:
    """How tallies reach sockets and how many votes a transaction takes. This default is the
    design (coalesced snapshots, one writer batch); bench/baseline.py plugs in the plain
    Channels way (`group_send` per vote) to measure what the design gains."""

    batch_max = WRITER_BATCH_MAX

    def tally_changed(self, poll_id: int, spawn: Callable[[Any], Any]) -> bool:
        """True when it took care of the change itself (the hub then does nothing)."""
        return False

    async def registered(self, consumer: Any, connection: Connection) -> None:
        pass

    async def unregistered(self, consumer: Any) -> None:
        pass

    async def left(self, consumer: Any, group: str) -> None:
        """The socket left one group while staying connected (a host demoted, a room left)."""


_fanout = Fanout()


def fanout() -> Fanout:
    return _fanout


def fanout_plug(plugin: Fanout | None) -> None:
    """Replaces the fan-out (None: back to the design's). For bench/ only."""
    global _fanout
    _fanout = plugin if plugin is not None else Fanout()
