"""The speakers' clock: the host starts, pauses, moves to the next turn and adds time.

The clock is a row (the event's TurnRun with no end) and every change is announced after commit
as the "clock" snapshot kind (debates.realtime_stage): the server sends the turn, when it
started running and its length, and every screen counts down by itself. Never a tick.
Each function locks the event's row, so two hosts pressing at once act one after the other.
"""

from __future__ import annotations

from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from debates import live
from debates.models import TurnRun
from debates.stage import clock_run, next_turn
from events.models import TURN_MAX_SECONDS, Event
from events.models import Turn as PlannedTurn

CLOCK_NO_TURNS = _(
    "This event has no speakers' turns. Add them on the event's edit page (or add speakers "
    "who argue a side and save: the turns are built from them)."
)
CLOCK_ALL_DONE = _("That was the last turn. Add turns on the event's edit page to go on.")
CLOCK_EMPTY = _("No turn is on the clock.")
# How far a host may move a turn's length at once, and in all (seconds).
ADD_MAX = 600


def _changed(event_id: int) -> None:
    transaction.on_commit(partial(live.changed, "clock", event_id))


def _lock(event: Event) -> None:
    Event.objects.select_for_update().filter(pk=event.pk).exists()


def _load(event: Event, turn: PlannedTurn) -> TurnRun:
    return TurnRun.objects.create(
        event=event,
        turn=turn,
        label=turn.label,
        side=turn.side,
        speaker=turn.speaker.name if turn.speaker_id else "",
        planned_seconds=turn.seconds,
    )


def _stop(run: TurnRun, now) -> None:
    """Stops the run's time (it keeps what was spoken)."""
    if run.running_since is not None:
        run.spoken_before += max((now - run.running_since).total_seconds(), 0.0)
        run.running_since = None


@transaction.atomic
def clock_start(*, event: Event) -> TurnRun:
    """Starts (or resumes) the turn on the clock; with none, loads the next turn and starts it."""
    _lock(event)
    run = clock_run(event_id=event.pk)
    if run is None:
        turn = next_turn(event_id=event.pk)
        if turn is None:
            has_turns = PlannedTurn.objects.filter(event=event).exists()
            raise ValidationError(CLOCK_ALL_DONE if has_turns else CLOCK_NO_TURNS, code="no_turn")
        run = _load(event, turn)
    if run.running_since is None:
        now = timezone.now()
        run.running_since = now
        run.started_at = run.started_at or now
        run.save(update_fields=["running_since", "started_at"])
        _changed(event.pk)
    return run


@transaction.atomic
def clock_pause(*, event: Event) -> TurnRun:
    _lock(event)
    run = clock_run(event_id=event.pk)
    if run is None:
        raise ValidationError(CLOCK_EMPTY, code="no_clock")
    if run.running_since is not None:
        _stop(run, timezone.now())
        run.save(update_fields=["running_since", "spoken_before"])
        _changed(event.pk)
    return run


@transaction.atomic
def clock_next(*, event: Event) -> TurnRun | None:
    """Ends the turn on the clock and loads the next one, ready but not running (the host
    introduces the speaker, then starts it). After the last turn the clock is empty."""
    _lock(event)
    run = clock_run(event_id=event.pk)
    turn = next_turn(event_id=event.pk, after=run)
    if run is None and turn is None:
        has_turns = PlannedTurn.objects.filter(event=event).exists()
        raise ValidationError(CLOCK_ALL_DONE if has_turns else CLOCK_NO_TURNS, code="no_turn")
    if run is not None:
        now = timezone.now()
        _stop(run, now)
        run.ended_at = now
        run.save(update_fields=["running_since", "spoken_before", "ended_at"])
    loaded = _load(event, turn) if turn is not None else None
    _changed(event.pk)
    return loaded


@transaction.atomic
def clock_add(*, event: Event, seconds: int) -> TurnRun:
    """Adds time to the turn on the clock (negative: takes it off), never below zero length
    nor above the longest turn allowed."""
    if not -ADD_MAX <= seconds <= ADD_MAX:
        raise ValueError(f"clock_add: {seconds} seconds is out of range")
    _lock(event)
    run = clock_run(event_id=event.pk)
    if run is None:
        raise ValidationError(CLOCK_EMPTY, code="no_clock")
    length = min(max(run.planned_seconds + run.added_seconds + seconds, 0), TURN_MAX_SECONDS)
    added = length - run.planned_seconds
    if added != run.added_seconds:
        run.added_seconds = added
        run.save(update_fields=["added_seconds"])
        _changed(event.pk)
    return run
