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


def plug(**parts: Any) -> None:
    """Registers the debate's readers, vote writer and host checker (any of them)."""
    for name, value in parts.items():
        if name not in Plugged.__dataclass_fields__:
            raise TypeError(f"debates.live.plug: unknown part {name!r}")
        setattr(plugged, name, value)


def read(kind: str, object_id: int) -> list[Delivery]:
    """A snapshot's deliveries: kind is "poll" (a tally), "polls" or "event" (sync)."""
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
