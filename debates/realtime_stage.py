"""The stage's live snapshot kinds (debates.live.plugs, "Adding a live snapshot kind"):

- "clock": the speakers' clock (clock.updated), read after every clock change, at most four
  times a second per event, and sent whole on (re)connect. Clients count down by themselves.
- "reveal": the final result's panel (reveal.updated), read when the host reveals or hides it.

Both carry `seq`, the time of the read (as phase.changed does): a client keeps the highest.
The reveal's HTML is the recap's to render (recaps.reveal: the figures and the small-group
rules live there, and the debate never imports the recap): the recap plugs its renderer in
with `plug_reveal` from RecapsConfig.ready. It is cached per final-vote version, so a
reconnect storm renders it once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from debates import live, stage
from debates.live import protocol
from debates.models import Poll, PollKind

CLOCK_INTERVAL = 0.25
REVEAL_INTERVAL = 0.5

_reveal_renderer: Callable[[int], str] | None = None
_reveal_cache: dict[int, tuple[tuple, str]] = {}


def plug_in() -> None:
    """Called once, from DebatesConfig.ready."""
    live.plug_kind("clock", clock_deliveries, interval=CLOCK_INTERVAL, on_connect=clock_on_connect)
    live.plug_kind(
        "reveal", reveal_deliveries, interval=REVEAL_INTERVAL, on_connect=reveal_on_connect
    )


def plug_reveal(renderer: Callable[[int], str] | None) -> None:
    """The recap's renderer of the reveal panel: event id -> HTML (None: unplug)."""
    global _reveal_renderer
    _reveal_renderer = renderer
    _reveal_cache.clear()


def _seq() -> int:
    return time.time_ns() // 1000


# ---------------------------------------------------------------- the clock


def clock_message(event_id: int) -> dict[str, Any]:
    seq = _seq()
    state = stage.clock(event_id=event_id)
    run = state.run
    turn = None
    if run is not None:
        turn = {
            "label": run.label,
            "side": run.side,
            "speaker": run.speaker,
            "number": state.number,
            "count": state.count,
        }
    return protocol.clock_updated(
        event=event_id,
        seq=seq,
        state=state.state,
        now=state.now.isoformat(),
        turn=turn,
        length=state.length,
        spoken=state.spoken,
        running_since=run.running_since.isoformat() if run and run.running_since else None,
        next_label=state.next_label,
    )


def clock_deliveries(event_id: int) -> list[live.Delivery]:
    return [(live.event_group(event_id), live.encode(clock_message(event_id)), None)]


def clock_on_connect(*, event_id: int, attendee_id: int | None, host: bool) -> list[str]:
    return [live.encode(clock_message(event_id))]


# ---------------------------------------------------------------- the reveal


def reveal_html(event_id: int) -> str:
    """The reveal panel's HTML, or "" before the reveal. One query when cached."""
    final = (
        Poll.objects.filter(event_id=event_id, kind=PollKind.FINAL_VOTE)
        .values_list("version", "revealed_at", "event__language")
        .first()
    )
    if final is None or final[1] is None or _reveal_renderer is None:
        return ""
    # The panel is written in the event's language: an organiser who changes it after the
    # reveal gets it re-rendered, not the old language's copy.
    versions = Poll.objects.filter(event_id=event_id).order_by("pk").values_list("pk", "version")
    key = (final[2], *versions)
    cached = _reveal_cache.get(event_id)
    if cached and cached[0] == key:
        return cached[1]
    html = _reveal_renderer(event_id)
    _reveal_cache[event_id] = (key, html)
    return html


def reveal_message(event_id: int) -> dict[str, Any]:
    seq = _seq()
    html = reveal_html(event_id)
    return protocol.reveal_updated(event=event_id, seq=seq, revealed=bool(html), html=html)


def reveal_deliveries(event_id: int) -> list[live.Delivery]:
    return [(live.event_group(event_id), live.encode(reveal_message(event_id)), None)]


def reveal_on_connect(*, event_id: int, attendee_id: int | None, host: bool) -> list[str]:
    return [live.encode(reveal_message(event_id))]
