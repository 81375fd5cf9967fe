"""Reads about the stage: the speakers' turns as they ran, the clock, the reveal, and what
"changed my mind" may offer. Never writes (the rules are debates.services.clock, reveal and
persuasion).

`turns_of(event)` is the seam for anything counted per speaker's turn (reactions): each turn
with its speaker, side, label and actual start and end times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from debates.models import MindChange, Point, PointStatus, Poll, PollKind, TurnRun, Vote
from events.models import Attendee, Event
from events.models import Turn as PlannedTurn


@dataclass(frozen=True)
class Turn:
    """A speaker's turn as it ran on the clock (a TurnRun that was started)."""

    id: int  # the run's id
    planned: int | None  # the events.Turn it ran from (None if that was deleted since)
    label: str
    side: str
    speaker: str
    planned_seconds: int
    added_seconds: int
    started_at: datetime
    ended_at: datetime | None  # None: on the clock now
    spoken_seconds: float  # time it ran, pauses left out (up to now for the running one)

    @property
    def length_seconds(self) -> int:
        return max(self.planned_seconds + self.added_seconds, 0)

    @property
    def overtime_seconds(self) -> int:
        return max(round(self.spoken_seconds) - self.length_seconds, 0)


def _spoken(run: TurnRun, now: datetime) -> float:
    running = (now - run.running_since).total_seconds() if run.running_since else 0.0
    return run.spoken_before + max(running, 0.0)


def turns_of(event: Event | int) -> list[Turn]:
    """The turns that were started, in the order they started, with their actual times. One
    query. A turn's time window for per-turn counts is [started_at, ended_at or now)."""
    event_id = event if isinstance(event, int) else event.pk
    now = timezone.now()
    return [
        Turn(
            id=run.pk,
            planned=run.turn_id,
            label=run.label,
            side=run.side,
            speaker=run.speaker,
            planned_seconds=run.planned_seconds,
            added_seconds=run.added_seconds,
            started_at=run.started_at,
            ended_at=run.ended_at,
            spoken_seconds=_spoken(run, now),
        )
        for run in TurnRun.objects.filter(event_id=event_id, started_at__isnull=False).order_by(
            "started_at", "pk"
        )
    ]


def planned_turns(*, event_id: int) -> QuerySet[PlannedTurn]:
    return PlannedTurn.objects.filter(event_id=event_id).order_by("position", "pk")


def clock_run(*, event_id: int) -> TurnRun | None:
    """The turn on the event's clock (at most one: debates_turnrun_one_clock_per_event)."""
    return TurnRun.objects.filter(event_id=event_id, ended_at__isnull=True).first()


def next_turn(*, event_id: int, after: TurnRun | None = None) -> PlannedTurn | None:
    """The planned turn that comes after `after` (or after the last turn that ran), or the
    first one when none has run."""
    turns = list(planned_turns(event_id=event_id))
    if after is None:
        after = TurnRun.objects.filter(event_id=event_id).order_by("-loaded_at", "-pk").first()
    if after is None:
        return turns[0] if turns else None
    ids = [t.pk for t in turns]
    if after.turn_id in ids:
        index = ids.index(after.turn_id) + 1
        return turns[index] if index < len(turns) else None
    return None  # the turn that ran was deleted since: the host starts again by hand


@dataclass(frozen=True)
class Clock:
    """What the clock shows: the snapshot behind clock.updated and the console's panel."""

    state: str  # idle, ready, running, paused
    run: TurnRun | None
    number: int  # the turn's place in the running order (1-based), 0 when unknown
    count: int  # turns in the running order
    next_label: str
    now: datetime

    @property
    def length(self) -> int:
        return max(self.run.planned_seconds + self.run.added_seconds, 0) if self.run else 0

    @property
    def spoken(self) -> float:
        return self.run.spoken_before if self.run else 0.0

    @property
    def remaining(self) -> int:
        """Seconds left (negative: overtime), as of `now`."""
        return round(self.length - _spoken(self.run, self.now)) if self.run else 0

    @property
    def display(self) -> str:
        """The time left as the clock shows it ("6:59"), overtime with a plus ("+0:12")."""
        left = self.remaining
        return f"{'+' if left < 0 else ''}{abs(left) // 60}:{abs(left) % 60:02d}"


def clock(*, event_id: int) -> Clock:
    """Three queries."""
    now = timezone.now()
    run = clock_run(event_id=event_id)
    turns = list(planned_turns(event_id=event_id).values_list("pk", "label"))
    ids = [pk for pk, _label in turns]
    following = next_turn(event_id=event_id, after=run) if (run or turns) else None
    if run is None:
        state = "idle"
    elif run.running_since is not None:
        state = "running"
    elif run.started_at is None:
        state = "ready"
    else:
        state = "paused"
    return Clock(
        state=state,
        run=run,
        number=ids.index(run.turn_id) + 1 if run and run.turn_id in ids else 0,
        count=len(turns),
        next_label=following.label if following else "",
        now=now,
    )


# ---------------------------------------------------------------- the reveal and minds changed


def final_poll(*, event_id: int) -> Poll | None:
    return Poll.objects.filter(event_id=event_id, kind=PollKind.FINAL_VOTE).first()


def is_switcher(*, attendee: Attendee) -> bool:
    """Whether the attendee's counted final vote differs from their counted pre-vote. One query."""
    sides = dict(
        Vote.objects.filter(
            attendee=attendee,
            counted=True,
            poll__kind__in=[PollKind.PRE_VOTE, PollKind.FINAL_VOTE],
        ).values_list("poll__kind", "side")
    )
    pre, final = sides.get(PollKind.PRE_VOTE), sides.get(PollKind.FINAL_VOTE)
    return pre is not None and final is not None and pre != final


def mind_change_of(*, attendee: Attendee) -> MindChange | None:
    return MindChange.objects.filter(attendee=attendee).first()


def persuasion_points(*, event_id: int) -> QuerySet[Point]:
    """What a switcher may name: the points the hosts highlighted (visible ones)."""
    return (
        Point.objects.filter(event_id=event_id, status=PointStatus.VISIBLE, highlighted=True)
        .select_related("theme")
        .order_by("theme__position", "side", "-upvotes", "pk")
    )


def persuasion_turns(*, event_id: int) -> QuerySet[PlannedTurn]:
    """...or a speaker's turn that was on the clock (all planned turns if none ran)."""
    ran = PlannedTurn.objects.filter(event_id=event_id, runs__started_at__isnull=False).distinct()
    return ran.order_by("position", "pk") if ran.exists() else planned_turns(event_id=event_id)
