"""A rehearsal's simulated crowd: who arrives when, and what they do, through the real services.

The crowd acts like people on the night, at a human pace the host chose (debates.services.
rehearsal: so many people over so many minutes). They arrive over the first half of the
rehearsal (events.services.attendee_join), vote soon after a poll opens (voting.votes_cast_batch,
the socket writer's path), go to their breakout room (rounds.room_arrive), add a point or two
and upvote other people's (points), ask the speakers a question now and then and upvote others'
(questions), and whatever other features plug in (CROWD_ACTIONS). So the console, the projector
and every phone move as they will for real.

`crowd_step` is one step, sync and deterministic given its `now` and `rng`: tests drive a whole
rehearsal in a few calls. In a server, `crowd_run` steps every STEP_SECONDS as a task on the
process's event loop (debates.live.background), each step in a worker thread, until the
rehearsal is stopped, reset or over; it reads that from the database at every step, so a stop
pressed on another process stops it too. A server restart ends the task: the console shows
the crowd as still (Rehearsal.stepped_at) and the host stops or resets.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from channels.db import database_sync_to_async
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import IntegrityError
from django.utils import timezone

from debates import live, selectors
from debates.models import (
    ARGUING_SIDES,
    AssignmentMode,
    BreakoutRoom,
    BreakoutRound,
    Point,
    PointStatus,
    PointUpvote,
    Poll,
    PollKind,
    PollState,
    Rehearsal,
    RoomMember,
    Vote,
)
from debates.models_audience import Question, QuestionStatus, QuestionUpvote
from debates.services import points, questions, rounds, voting
from debates.services.rehearsal import rehearsal_step_done
from events.models import Attendee, Event, Phase, Side
from events.services import attendee_join

log = logging.getLogger(__name__)

STEP_SECONDS = 1.0
FAILURES_MAX = 30  # steps failing in a row before the task gives up (the database is gone)
# The crowd's own network mark: the door panel shows them as one network, and people who
# join the rehearsing event themselves (simulated too) are not counted among them.
CROWD_NETWORK = "rehearsal"
# Mean seconds before one of them does something (exponential waits, like people).
VOTE_AFTER = 20.0
POINT_EVERY = 120.0
UPVOTE_EVERY = 60.0
POINTS_EACH = 2
QUESTION_EVERY = 600.0  # one person in ten asks within ten minutes or so
QUESTION_UPVOTE_EVERY = 120.0

ActionError = (ValidationError, ObjectDoesNotExist, IntegrityError, voting.VoteRefused)

# Other features' simulated actions, run at every step:
# `action(event=, crowd=, seconds=, rng=)`, with `crowd` the simulated attendees present and
# `seconds` since the last step.
CROWD_ACTIONS: list[Callable[..., None]] = []

NAMES = (
    "Ada", "Bram", "Chidi", "Dana", "Emil", "Farah", "Goran", "Hana", "Ines", "Jonas",
    "Kemi", "Luca", "Mei", "Nils", "Oona", "Pavel", "Quinn", "Rosa", "Sami", "Tove",
)  # fmt: skip
POINT_TEXTS = {
    Side.FOR: (
        "It saves more time later than it costs now.",
        "The people who tried it would not go back.",
        "It makes the risky part visible early.",
        "Small teams gain the most from it.",
    ),
    Side.AGAINST: (
        "The cost shows up now, the benefit maybe never.",
        "It works in a workshop, not in a busy week.",
        "Nobody measures what it replaces.",
        "Experienced people do it already without the ritual.",
    ),
}


QUESTION_TEXTS = (
    "What would change your mind tonight?",
    "Has anyone measured this, or is it all stories?",
    "Does the answer change for a team of three?",
    "What does it cost to try it for a month?",
    "Which side has the burden of proof here?",
)


def _chance(seconds: float, every: float) -> float:
    """The chance that someone who does a thing every `every` seconds on average did it in
    the last `seconds` (a Poisson process)."""
    return 1 - math.exp(-seconds / every)


def leaning(attendee_id: int, kind: str) -> str:
    """How a simulated person votes in a poll: fixed per person, so a final vote can differ
    from their pre-vote the way a room's opinion moves (some change their minds)."""
    rng = random.Random(attendee_id)
    draw, moved, other = rng.random(), rng.random(), rng.random()
    pre = Side.FOR if draw < 0.4 else Side.AGAINST if draw < 0.75 else Side.UNDECIDED
    if kind != PollKind.FINAL_VOTE or moved >= 0.3:
        return pre
    return [s for s in (Side.FOR, Side.AGAINST, Side.UNDECIDED) if s != pre][other < 0.5]


def _name(n: int) -> str:
    round_ = n // len(NAMES)
    return f"{NAMES[n % len(NAMES)]}{f' {round_ + 1}' if round_ else ''} (sim)"


def _arrive(rehearsal: Rehearsal, event: Event, now: datetime) -> list[Attendee]:
    """Those due by now join; returns the crowd present, oldest first."""
    crowd = list(
        Attendee.objects.filter(event=event, simulated=True, network=CROWD_NETWORK).order_by("pk")
    )
    arrival = (rehearsal.ends_at - rehearsal.started_at) / 2
    share = (now - rehearsal.started_at) / arrival if arrival else 1
    due = min(rehearsal.people, math.ceil(rehearsal.people * max(0.0, share)))
    for n in range(len(crowd), due):
        try:
            crowd.append(
                attendee_join(
                    event=event, display_name=_name(n), network=CROWD_NETWORK, simulated=True
                )
            )
        except ActionError:
            break  # reset meanwhile: nobody else arrives
    return crowd


def _vote(crowd: list[Attendee], event: Event, seconds: float, rng: random.Random) -> None:
    """Everyone who has not voted in an open poll may vote now; one transaction."""
    ballots = []
    for poll in Poll.objects.filter(event=event, state=PollState.OPEN):
        voted = set(Vote.objects.filter(poll=poll).values_list("attendee_id", flat=True))
        ballots += [
            voting.Ballot(
                poll_id=poll.pk,
                attendee_id=person.pk,
                event_id=event.pk,
                side=leaning(person.pk, poll.kind),
            )
            for person in crowd
            if person.pk not in voted and rng.random() < _chance(seconds, VOTE_AFTER)
        ]
    if ballots:
        voting.votes_cast_batch(ballots=ballots)


def _to_room(
    person: Attendee, running: BreakoutRound, rooms: list[BreakoutRoom], rng: random.Random
) -> BreakoutRoom | None:
    """A simulated person opens the room page: placed like a late joiner, or, where people
    choose, picks a room that has space."""
    try:
        if running.assignment != AssignmentMode.CHOICE:
            return rounds.room_arrive(attendee=person)
        for room in rng.sample(rooms, k=len(rooms)):
            try:
                rounds.room_choose(attendee=person, room=room)
                return room
            except ValidationError:
                continue  # full: the next
    except ActionError:
        pass
    return None


def _discuss(crowd: list[Attendee], event: Event, seconds: float, rng: random.Random) -> None:
    """In a running round: to their room, then a point now and then, and upvotes."""
    running = selectors.round_running(event_id=event.pk)
    if running is None or event.phase != Phase.BREAKOUTS:
        return
    themes = list(event.themes.all())
    by_id = {room.pk: room for room in running.rooms.select_related("round")}
    rooms = dict(
        RoomMember.objects.filter(round=running, attendee__in=crowd).values_list(
            "attendee_id", "room"
        )
    )
    for person in crowd:
        if person.pk not in rooms:
            room = _to_room(person, running, list(by_id.values()), rng)
            if room is not None:
                rooms[person.pk] = room.pk
    board = list(Point.objects.filter(room__round=running, status=PointStatus.VISIBLE))
    upvoted = set(
        PointUpvote.objects.filter(point__in=board, attendee__in=crowd).values_list(
            "point_id", "attendee_id"
        )
    )
    written = Counter(p.author_id for p in board)
    for person in crowd:
        room_id = rooms.get(person.pk)
        if room_id is None:
            continue
        try:
            if (
                themes
                and written[person.pk] < POINTS_EACH
                and rng.random() < _chance(seconds, POINT_EVERY)
            ):
                side = leaning(person.pk, PollKind.PRE_VOTE)
                side = side if side in ARGUING_SIDES else rng.choice(ARGUING_SIDES)
                points.point_add(
                    room=by_id[room_id],
                    attendee=person,
                    theme=rng.choice(themes),
                    side=side,
                    text=rng.choice(POINT_TEXTS[side]),
                )
            others = [
                p
                for p in board
                if p.room_id == room_id
                and p.author_id != person.pk
                and (p.pk, person.pk) not in upvoted
            ]
            if others and rng.random() < _chance(seconds, UPVOTE_EVERY):
                points.point_upvote(point=rng.choice(others), attendee=person)
        except ActionError:
            continue  # the round ended or the rehearsal was reset meanwhile


def _ask(crowd: list[Attendee], event: Event, seconds: float, rng: random.Random) -> None:
    """Now and then one of them asks the speakers a question (one each at most, some under
    their name), and they upvote the others' on the list."""
    if event.phase in (Phase.LOBBY, Phase.ENDED):
        return
    listed = list(Question.objects.filter(event=event, status=QuestionStatus.VISIBLE))
    asked = set(Question.objects.filter(event=event).values_list("author_id", flat=True))
    upvoted = set(
        QuestionUpvote.objects.filter(question__event=event).values_list(
            "question_id", "attendee_id"
        )
    )
    for person in crowd:
        try:
            if person.pk not in asked and rng.random() < _chance(seconds, QUESTION_EVERY):
                name = person.display_name if rng.random() < 0.5 else ""
                questions.question_ask(
                    event=event, attendee=person, text=rng.choice(QUESTION_TEXTS), name=name
                )
            others = [
                q for q in listed if q.author_id != person.pk and (q.pk, person.pk) not in upvoted
            ]
            if others and rng.random() < _chance(seconds, QUESTION_UPVOTE_EVERY):
                questions.question_upvote(question=rng.choice(others), attendee=person)
        except ActionError:
            continue


def crowd_step(*, rehearsal_id: int, rng: random.Random, now: datetime | None = None) -> bool:
    """One step of the crowd at `now`; False once the rehearsal is stopped, reset or over."""
    now = now or timezone.now()
    rehearsal = Rehearsal.objects.filter(pk=rehearsal_id).first()
    if rehearsal is None:
        return False
    seconds = max(0.0, (now - (rehearsal.stepped_at or rehearsal.started_at)).total_seconds())
    if not rehearsal_step_done(rehearsal=rehearsal, at=now):
        return False
    event = Event.objects.get(pk=rehearsal.event_id)
    crowd = _arrive(rehearsal, event, now)
    _vote(crowd, event, seconds, rng)
    _discuss(crowd, event, seconds, rng)
    _ask(crowd, event, seconds, rng)
    for action in CROWD_ACTIONS:
        try:
            action(event=event, crowd=crowd, seconds=seconds, rng=rng)
        except ActionError:
            continue
    return True


# ---------------------------------------------------------------- in the server

_running: set[int] = set()  # rehearsals whose crowd this process runs


async def crowd_run(rehearsal_id: int, *, step_seconds: float = STEP_SECONDS) -> None:
    """Steps the crowd until the rehearsal is stopped, reset or over (one task per rehearsal
    per process)."""
    if rehearsal_id in _running:
        return
    _running.add(rehearsal_id)
    rng = random.Random()  # a crowd, not a secret
    step = database_sync_to_async(crowd_step)
    failures = 0
    try:
        while failures < FAILURES_MAX:
            try:
                if not await step(rehearsal_id=rehearsal_id, rng=rng):
                    return
                failures = 0
            except Exception:
                failures += 1
                log.exception("rehearsal %s: a crowd step failed; the next retries", rehearsal_id)
            await asyncio.sleep(step_seconds)
    finally:
        _running.discard(rehearsal_id)


def crowd_launch(rehearsal_id: int) -> bool:
    """Starts the crowd on this process's event loop (call after the start commits). False
    where no loop runs (a management command, the sync test client): tests step it instead."""
    return live.background(lambda: crowd_run(rehearsal_id))
