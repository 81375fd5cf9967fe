"""The stage's snapshots in debates.live.protocol: a clock is a state to count down from, never
a tick; the reveal carries its panel whole."""

from __future__ import annotations

import json

from debates.live import protocol


def test_a_clock_snapshot_carries_what_a_screen_needs_to_count_down_by_itself():
    message = protocol.clock_updated(
        event=3,
        seq=10,
        state="running",
        now="2026-11-29T11:00:00+00:00",
        turn={"label": "Opening FOR", "side": "for", "speaker": "Ada", "number": 1, "count": 4},
        length=420,
        spoken=12.34567,
        running_since="2026-11-29T10:59:30+00:00",
        next_label="Opening AGAINST",
    )
    assert json.loads(protocol.encode(message)) == {
        "type": "clock.updated",
        "event": 3,
        "seq": 10,
        "state": "running",
        "now": "2026-11-29T11:00:00+00:00",
        "turn": {"label": "Opening FOR", "side": "for", "speaker": "Ada", "number": 1, "count": 4},
        "length": 420,
        "spoken": 12.346,
        "running_since": "2026-11-29T10:59:30+00:00",
        "next": "Opening AGAINST",
    }


def test_an_idle_clock_has_no_turn_and_a_hidden_reveal_no_html():
    idle = protocol.clock_updated(event=1, seq=1, state="idle", now="x")
    assert idle["turn"] is None and idle["running_since"] is None
    hidden = protocol.reveal_updated(event=1, seq=2, revealed=False, html="")
    assert hidden == {"type": "reveal.updated", "event": 1, "seq": 2, "revealed": False, "html": ""}
