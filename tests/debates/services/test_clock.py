"""The speakers' clock: turns built from the speakers, start, pause, next, add time, and the
turns as they ran (debates.stage.turns_of, the seam for per-turn counts)."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.core.exceptions import ValidationError

from debates import live, stage
from debates.models import TurnRun
from debates.services import clock
from events.models import Side, Turn
from events.services import turns_from_speakers

pytestmark = pytest.mark.django_db


def rewind(run: TurnRun, seconds: float) -> None:
    """As if the turn had been running `seconds` longer (no sleeping in tests)."""
    TurnRun.objects.filter(pk=run.pk).update(
        running_since=run.running_since - timedelta(seconds=seconds)
    )


def test_turns_are_built_from_the_speakers_who_argue_a_side(event):
    turns = turns_from_speakers(event=event)
    assert [(t.label, t.side, t.seconds) for t in turns] == [
        ("Opening FOR: Hal Host", Side.FOR, 420),
        ("Opening AGAINST: Mo Derator", Side.AGAINST, 420),
        ("Rebuttal FOR: Hal Host", Side.FOR, 180),
        ("Rebuttal AGAINST: Mo Derator", Side.AGAINST, 180),
        ("Closing FOR: Hal Host", Side.FOR, 120),
        ("Closing AGAINST: Mo Derator", Side.AGAINST, 120),
    ]
    assert turns_from_speakers(event=event) == []  # never twice: the organiser's edits stay


def test_the_clock_runs_a_turn_pauses_it_and_keeps_what_was_spoken(event):
    turns_from_speakers(event=event)
    run = clock.clock_start(event=event)
    assert stage.clock(event_id=event.pk).state == "running"
    rewind(run, 100)
    run = clock.clock_pause(event=event)
    assert run.running_since is None and 99 < run.spoken_before < 110
    state = stage.clock(event_id=event.pk)
    assert state.state == "paused" and state.length == 420 and 310 < state.remaining < 321
    assert state.number == 1 and state.count == 6 and state.next_label.startswith("Opening AGAINST")


def test_overtime_shows_as_negative_time_left_with_a_plus_on_the_face(event):
    turns_from_speakers(event=event)
    run = clock.clock_start(event=event)
    rewind(run, 430)
    state = stage.clock(event_id=event.pk)
    assert state.remaining < 0 and state.display.startswith("+0:1")


def test_next_ends_the_turn_and_loads_the_next_one_ready_but_not_running(event):
    turns_from_speakers(event=event)
    first = clock.clock_start(event=event)
    rewind(first, 60)
    second = clock.clock_next(event=event)
    first.refresh_from_db()
    assert first.ended_at is not None and 59 < first.spoken_before < 70
    assert second.label.startswith("Opening AGAINST") and second.started_at is None
    assert stage.clock(event_id=event.pk).state == "ready"
    clock.clock_start(event=event)
    assert stage.clock(event_id=event.pk).state == "running"


def test_after_the_last_turn_the_clock_is_empty_and_start_says_so(event):
    Turn.objects.create(event=event, label="Only turn", seconds=60)
    clock.clock_start(event=event)
    assert clock.clock_next(event=event) is None
    assert stage.clock(event_id=event.pk).state == "idle"
    with pytest.raises(ValidationError) as refused:
        clock.clock_start(event=event)
    assert refused.value.messages == [str(clock.CLOCK_ALL_DONE)]


def test_an_event_without_turns_is_told_where_to_add_them(event):
    with pytest.raises(ValidationError) as refused:
        clock.clock_start(event=event)
    assert refused.value.messages == [str(clock.CLOCK_NO_TURNS)]
    with pytest.raises(ValidationError):
        clock.clock_add(event=event, seconds=30)


def test_time_is_added_and_taken_off_but_never_below_zero(event):
    Turn.objects.create(event=event, label="Short", seconds=60)
    clock.clock_start(event=event)
    assert clock.clock_add(event=event, seconds=30).added_seconds == 30
    assert stage.clock(event_id=event.pk).length == 90
    assert clock.clock_add(event=event, seconds=-600).added_seconds == -60
    assert stage.clock(event_id=event.pk).length == 0


def test_every_change_is_announced_after_commit_as_the_clock_snapshot_never_a_tick(
    event, django_capture_on_commit_callbacks
):
    turns_from_speakers(event=event)
    with (
        mock.patch.object(live, "changed") as changed,
        django_capture_on_commit_callbacks(execute=True),
    ):
        clock.clock_start(event=event)
        clock.clock_start(event=event)  # already running: nothing changes, nothing sent
        clock.clock_pause(event=event)
    assert changed.call_args_list == [mock.call("clock", event.pk)] * 2


def test_turns_of_gives_each_turn_that_ran_with_its_actual_times(event):
    turns_from_speakers(event=event)
    first = clock.clock_start(event=event)
    rewind(first, 30)
    clock.clock_next(event=event)  # loaded, never started: not a turn that ran
    clock.clock_next(event=event)
    clock.clock_start(event=event)
    turns = stage.turns_of(event)
    assert [t.label.split(":")[0] for t in turns] == ["Opening FOR", "Rebuttal FOR"]
    assert turns[0].ended_at is not None and turns[0].started_at <= turns[0].ended_at
    assert turns[0].speaker == "Hal Host" and turns[0].side == Side.FOR
    assert turns[1].ended_at is None  # on the clock now
    assert 29 < turns[0].spoken_seconds < 40
