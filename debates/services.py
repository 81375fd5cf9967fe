"""Rules of the live debate. Every write goes through a function here; views and consumers
only translate transport to these calls. Broadcasts happen in transaction.on_commit.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, Q, QuerySet
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from debates import live, selectors
from debates.live import protocol
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
    ResultsVisibility,
    RoomMember,
    Takeaway,
    Vote,
    VoteLog,
)
from debates.room_mix import room_mix
from events.models import Attendee, Event, Phase, Side, Theme

# ---------------------------------------------------------------- joining and voting
# (live voting)

VOTE_SIDE_UNKNOWN = _("Choose for, against or undecided.")
VOTE_POLL_UNKNOWN = _("There is no such poll.")
VOTE_POLL_OTHER_EVENT = _("This poll belongs to another event.")
VOTE_POLL_NOT_OPEN = _("This poll has not opened yet.")
VOTE_POLL_CLOSED = _("This poll is closed.")
VOTE_ATTENDEE_UNKNOWN = _("Join this event before you vote.")
VOTE_NOT_SAVED = _("Your vote could not be saved. Please try again.")
VOTE_TOO_FAST = _("You are changing your vote very fast. Wait a minute, then vote again.")

# Limits (security): an attendee may cast or change a vote VOTE_RATE_LIMIT times in any
# VOTE_RATE_WINDOW, over all polls. Counted from VoteLog in the database, so the count is the
# same in every process; casting the same side again is free (it changes and logs nothing).
VOTE_RATE_LIMIT = 30
VOTE_RATE_WINDOW = timedelta(seconds=60)


class VoteRefused(Exception):
    """A vote the rules turn down; `status` is the HTTP status a view answers with."""

    def __init__(self, reason: str, *, status: int = 400) -> None:
        super().__init__(str(reason))
        self.reason = str(reason)
        self.status = status


# Which refusal is which HTTP status: the socket path sends the reason, the views need a code.
_REFUSAL_STATUS = {
    str(VOTE_SIDE_UNKNOWN): 400,
    str(VOTE_POLL_UNKNOWN): 404,
    str(VOTE_POLL_OTHER_EVENT): 404,
    str(VOTE_POLL_NOT_OPEN): 409,
    str(VOTE_POLL_CLOSED): 409,
    str(VOTE_ATTENDEE_UNKNOWN): 403,
    str(VOTE_TOO_FAST): 429,
}


@dataclass(frozen=True, slots=True)
class Ballot:
    """One vote as a transport received it. `event_id` is the event the voter joined (from
    their session), so a forged poll id of another event is refused."""

    poll_id: int
    attendee_id: int
    event_id: int
    side: str


def _ballot_refusal(ballot: Ballot, poll: Poll | None, attendee_event_id: int | None) -> str | None:
    """The one place that says whether a ballot counts: None if it does, else the reason."""
    if ballot.side not in Side.values:
        return str(VOTE_SIDE_UNKNOWN)
    if attendee_event_id is None or attendee_event_id != ballot.event_id:
        return str(VOTE_ATTENDEE_UNKNOWN)
    if poll is None:
        return str(VOTE_POLL_UNKNOWN)
    if poll.event_id != ballot.event_id:
        return str(VOTE_POLL_OTHER_EVENT)
    if poll.state == PollState.DRAFT:
        return str(VOTE_POLL_NOT_OPEN)
    if poll.state != PollState.OPEN:
        return str(VOTE_POLL_CLOSED)
    return None


@dataclass(frozen=True, slots=True)
class BatchResult:
    reasons: list[str | None]  # per ballot: None (counted) or the reason it was refused
    versions: dict[int, int]  # per poll: the Poll.version whose snapshot includes the batch


@transaction.atomic
def votes_cast_batch(*, ballots: Sequence[Ballot]) -> BatchResult:
    """Applies ballots in order, in ONE transaction; returns, per ballot, None (counted) or
    the reason it was refused, and per poll the version that shows the batch. Nothing is
    counted unless the transaction commits.

    Locks the rows of the polls involved (in id order, so concurrent batches cannot deadlock):
    a batch, a single vote and a poll closing are serialised per poll, so "is the poll open" and
    the upsert see the same state. An attendee may appear several times: the last ballot wins
    and every change is logged. Poll.version goes up once per poll per batch that changed it.
    Query count is constant in the batch size (bulk reads and writes).
    """
    if not ballots:
        return BatchResult(reasons=[], versions={})
    poll_ids = sorted({b.poll_id for b in ballots})
    attendee_ids = {b.attendee_id for b in ballots}
    polls = {
        poll.pk: poll
        for poll in Poll.objects.select_for_update().filter(pk__in=poll_ids).order_by("pk")
    }
    # Read after the poll locks: a set-aside (debates.set_aside) takes them too, so the flag
    # read here is the one its transaction left, and no vote slips between the two.
    attendee_events, aside = {}, set()
    for pk, event_id, set_aside in Attendee.objects.filter(pk__in=attendee_ids).values_list(
        "pk", "event_id", "set_aside"
    ):
        attendee_events[pk] = event_id
        if set_aside:
            aside.add(pk)
    existing = {
        (vote.poll_id, vote.attendee_id): vote
        for vote in Vote.objects.filter(poll_id__in=list(polls), attendee_id__in=attendee_ids)
    }
    now = timezone.now()
    recent = _recent_votes(attendee_ids, since=now - VOTE_RATE_WINDOW)
    created: dict[tuple[int, int], Vote] = {}
    changed: dict[tuple[int, int], Vote] = {}
    log: list[VoteLog] = []
    touched: set[int] = set()
    results: list[str | None] = []
    for ballot in ballots:
        poll = polls.get(ballot.poll_id)
        reason = _ballot_refusal(ballot, poll, attendee_events.get(ballot.attendee_id))
        results.append(reason)
        if reason is not None:
            continue
        key = (ballot.poll_id, ballot.attendee_id)
        vote = created.get(key) or existing.get(key)
        if vote is not None and vote.side == ballot.side:
            continue  # the same choice again: counted already, nothing to log
        if recent[ballot.attendee_id] >= VOTE_RATE_LIMIT:
            results[-1] = str(VOTE_TOO_FAST)
            continue
        recent[ballot.attendee_id] += 1
        if vote is None:
            vote = Vote(
                poll_id=ballot.poll_id,
                attendee_id=ballot.attendee_id,
                side=ballot.side,
                cast_at=now,
                updated_at=now,
                # Stored and acknowledged like any vote (it is committed), counted in no tally.
                counted=ballot.attendee_id not in aside,
            )
            created[key] = vote
            previous = ""
        else:
            previous, vote.side, vote.updated_at = vote.side, ballot.side, now
            if key not in created:
                changed[key] = vote
        log.append(
            VoteLog(
                poll_id=ballot.poll_id,
                attendee_id=ballot.attendee_id,
                side=ballot.side,
                previous_side=previous,
                at=now,
            )
        )
        touched.add(ballot.poll_id)
    Vote.objects.bulk_create(created.values())
    Vote.objects.bulk_update(changed.values(), ["side", "updated_at"])
    VoteLog.objects.bulk_create(log)
    for poll_id in sorted(touched):
        Poll.objects.filter(pk=poll_id).update(version=F("version") + 1)
        transaction.on_commit(partial(live.tally_changed, poll_id))
    # The rows are locked: no one else moved the versions read above.
    versions = {pk: poll.version + (pk in touched) for pk, poll in polls.items()}
    return BatchResult(reasons=results, versions=versions)


def _recent_votes(attendee_ids: Collection[int], *, since: datetime) -> Counter[int]:
    """Votes cast or changed since `since`, per attendee (one query, on the log's attendee index)."""
    rows = (
        VoteLog.objects.filter(attendee_id__in=attendee_ids, at__gte=since)
        .values("attendee_id")
        .annotate(n=Count("pk"))
        .values_list("attendee_id", "n")
    )
    return Counter(dict(rows))


def vote_cast(*, poll: Poll, attendee: Attendee, side: str) -> None:
    """One attendee's vote (the HTTP paths). Same rules and transaction as the batch writer.

    Raises VoteRefused with the reason and the HTTP status to answer with.
    """
    ballot = Ballot(poll_id=poll.pk, attendee_id=attendee.pk, event_id=attendee.event_id, side=side)
    [reason] = votes_cast_batch(ballots=[ballot]).reasons
    if reason is not None:
        raise VoteRefused(reason, status=_REFUSAL_STATUS.get(reason, 400))


def _poll_changed(poll: Poll) -> None:
    """State changes show on the tally (version) and on the attendee page (which poll is open)."""
    transaction.on_commit(partial(live.tally_changed, poll.pk))
    transaction.on_commit(partial(live.event_changed, poll.event_id))


@transaction.atomic
def poll_open(
    *,
    event: Event,
    kind: str,
    results_visibility: str = ResultsVisibility.LIVE,
) -> Poll:
    """Opens the event's pre-vote or final vote (creating it on first use), or reopens it after
    a close. Votes already cast stay counted."""
    if kind not in PollKind.values or results_visibility not in ResultsVisibility.values:
        raise ValueError(f"Unknown poll kind or visibility: {kind!r}, {results_visibility!r}")
    Poll.objects.get_or_create(event=event, kind=kind)
    poll = Poll.objects.select_for_update().get(event=event, kind=kind)
    if poll.state == PollState.OPEN and poll.results_visibility == results_visibility:
        return poll
    poll.state = PollState.OPEN
    poll.results_visibility = results_visibility
    poll.opened_at = poll.opened_at or timezone.now()
    poll.closed_at = None
    poll.version += 1
    poll.save(update_fields=["state", "results_visibility", "opened_at", "closed_at", "version"])
    _phase_catch_up(event=event, phase=_POLL_PHASE.get(kind))
    _poll_changed(poll)
    return poll


# Opening a vote is the moment the room votes: an event still before that step of the running
# order moves to it, so attendees and the projector read "Pre-vote" without a second click.
# Never backwards: a host who reopens the pre-vote during the plenary stays in the plenary.
_POLL_PHASE = {PollKind.PRE_VOTE: Phase.PRE_VOTE, PollKind.FINAL_VOTE: Phase.FINAL_VOTE}


def _phase_catch_up(*, event: Event, phase: str | None) -> None:
    if phase is None:
        return
    order = Phase.values
    current = Event.objects.select_for_update().values_list("phase", flat=True).get(pk=event.pk)
    if order.index(current) < order.index(phase):
        Event.objects.filter(pk=event.pk).update(phase=phase, updated_at=timezone.now())
        event.phase = phase


@transaction.atomic
def poll_close(*, poll: Poll) -> Poll:
    """Closes a poll: its tally is kept as the result. Closing a closed poll changes nothing."""
    poll = Poll.objects.select_for_update().get(pk=poll.pk)
    if poll.state != PollState.OPEN:
        return poll
    poll.state = PollState.CLOSED
    poll.closed_at = timezone.now()
    poll.version += 1
    poll.save(update_fields=["state", "closed_at", "version"])
    _poll_changed(poll)
    return poll


@transaction.atomic
def poll_results_visibility_set(*, poll: Poll, results_visibility: str) -> Poll:
    """The host shows live results, or hides them until the close (against herding)."""
    if results_visibility not in ResultsVisibility.values:
        raise ValueError(f"Unknown results visibility: {results_visibility!r}")
    poll = Poll.objects.select_for_update().get(pk=poll.pk)
    if poll.results_visibility == results_visibility:
        return poll
    poll.results_visibility = results_visibility
    poll.version += 1
    poll.save(update_fields=["results_visibility", "version"])
    _poll_changed(poll)
    return poll


# ---------------------------------------------------------------- phases
# (host console)

PHASE_UNKNOWN = _("That is not a phase of this event.")


def _notify(group: str, message: dict) -> None:
    """Sends after commit, so nobody hears of a change that was rolled back."""
    transaction.on_commit(lambda: live.send(group, message))


def _notify_event_changed(event_id: int) -> None:
    transaction.on_commit(lambda: live.event_changed(event_id))


@transaction.atomic
def phase_set(*, event: Event, phase: str) -> Event:
    """Moves the event to any phase, forwards or back: the host decides the running order.

    A breakout round is left as it is (going back to "Breakouts" resumes it); "bring everyone
    back" is round_end.
    """
    if phase not in Phase.values:
        raise ValidationError(PHASE_UNKNOWN, code="phase_unknown")
    event = Event.objects.select_for_update().get(pk=event.pk)
    if event.phase != phase:
        event.phase = phase
        event.save(update_fields=["phase", "updated_at"])
        _notify_event_changed(event.pk)
    return event


# ---------------------------------------------------------------- breakout rooms
# (host console)

MAX_ROOMS = 50
MAX_ROOM_SIZE = 50
MIN_ROOM_SIZE = 2
MAX_ROUND_MINUTES = 180
MAX_EXTEND_MINUTES = 60
ROUND_MESSAGE_MAX_LENGTH = 280
ROOM_NAME_MAX_LENGTH = 60
ROOM_LOCATION_MAX_LENGTH = 100

ROOMS_OR_SIZE = _("Choose either a number of rooms or a room size, not both.")
ROOM_COUNT_RANGE = _("Choose between 1 and 50 rooms.")
ROOM_SIZE_RANGE = _("A room holds between 2 and 50 people.")
ROUND_MINUTES_RANGE = _("A round lasts between 1 and 180 minutes.")
EXTEND_MINUTES_RANGE = _("Add or take off between 1 and 60 minutes.")
ASSIGNMENT_UNKNOWN = _("Choose how to fill the rooms: mixed by side, at random, or by choice.")
ROOM_NAMES_INVALID = _("Each room needs its own name, of at most 60 characters.")
ROOM_LINK_INVALID = _("A room's video link must be a full https:// address.")
ROOM_LOCATION_TOO_LONG = _("Keep a table or place name to 100 characters.")
ROUND_ALREADY_RUNNING = _("A breakout round is already running: bring everyone back first.")
ROUND_NOT_RUNNING = _("This breakout round has ended.")
ROOM_NOT_IN_ROUND = _("That room is not part of the running round.")
ROOM_FULL = _("That room is full: pick another one.")
ROOMS_ASSIGNED_BY_HOST = _("In this round the host assigns the rooms.")
ATTENDEE_NOT_IN_EVENT = _("That person is not at this event.")
ROUND_MESSAGE_EMPTY = _("Write a message first.")
ROUND_MESSAGE_TOO_LONG = _("Keep the message to 280 characters.")

_SIDE_DEAL_ORDER = (Side.FOR, Side.AGAINST, Side.UNDECIDED)
_validate_room_link = URLValidator(schemes=["https", "http"])


def rooms_deal_balanced(
    *, sides: Mapping[int, str], room_count: int, rng: random.Random
) -> list[list[int]]:
    """Deals attendees into rooms so each room mixes the sides as evenly as possible.

    Each side is dealt round-robin over all rooms, starting at the currently smallest ones.
    So every room gets floor or ceil of (side size / rooms) of each side, and since the
    remainder always goes to the smallest rooms, room sizes never differ by more than one.
    Ties between equal rooms are broken at random, so room 1 is not always the biggest.
    """
    rooms: list[list[int]] = [[] for _ in range(room_count)]
    tiebreak = list(range(room_count))
    rng.shuffle(tiebreak)
    for side in _SIDE_DEAL_ORDER:
        members = sorted(attendee for attendee, s in sides.items() if s == side)
        rng.shuffle(members)
        order = sorted(range(room_count), key=lambda i: (len(rooms[i]), tiebreak[i]))
        for n, attendee in enumerate(members):
            rooms[order[n % room_count]].append(attendee)
    return rooms


def rooms_deal_random(
    *, attendee_ids: Sequence[int], room_count: int, rng: random.Random
) -> list[list[int]]:
    shuffled = list(attendee_ids)
    rng.shuffle(shuffled)
    return [shuffled[i::room_count] for i in range(room_count)]


def room_video_link(*, event: Event, room_name: str) -> str:
    """The room's call link made from the event's pattern, e.g. a Jitsi room per breakout."""
    if not event.is_online or not event.room_video_pattern:
        return ""
    return event.room_video_pattern.replace("{event}", event.slug).replace(
        "{room}", slugify(room_name) or "room"
    )


def _room_names(names: Sequence[str], count: int) -> list[str]:
    chosen = [" ".join(name.split()) for name in names[:count]]
    taken = set(chosen)
    n = 1
    while len(chosen) < count:
        default = str(_("Room %(number)s") % {"number": n})
        n += 1
        if default not in taken:
            chosen.append(default)
            taken.add(default)
    if (
        any(not name or len(name) > ROOM_NAME_MAX_LENGTH for name in chosen)
        or len(set(chosen)) != len(chosen)
        or len(names) > count
    ):
        raise ValidationError(ROOM_NAMES_INVALID, code="room_names_invalid")
    return chosen


def _clean_room_link(url: str) -> str:
    url = url.strip()
    if url:
        try:
            _validate_room_link(url)
        except ValidationError:
            raise ValidationError(ROOM_LINK_INVALID, code="room_link_invalid") from None
    return url


def _clean_location(location: str) -> str:
    location = " ".join(location.split())
    if len(location) > ROOM_LOCATION_MAX_LENGTH:
        raise ValidationError(ROOM_LOCATION_TOO_LONG, code="room_location_too_long")
    return location


def _round_for_update(round_: BreakoutRound) -> BreakoutRound:
    """Locks the round: assignments within it (moves, late joiners, choices) queue here."""
    round_ = BreakoutRound.objects.select_for_update().get(pk=round_.pk)
    if not round_.is_running:
        raise ValidationError(ROUND_NOT_RUNNING, code="round_not_running")
    return round_


def _round_message(round_: BreakoutRound, message_type: str, **extra: object) -> dict:
    return protocol.round_message(
        message_type,
        round_id=round_.pk,
        number=round_.number,
        ends_at=round_.ends_at.isoformat() if round_.ends_at else None,
        **extra,
    )


def _room_json(room: BreakoutRoom) -> dict:
    return {
        "id": room.pk,
        "name": room.name,
        "video_url": room.video_url,
        "location": room.location,
    }


@transaction.atomic
def round_start(
    *,
    event: Event,
    minutes: int,
    rooms: int | None = None,
    size: int | None = None,
    mode: str = AssignmentMode.BALANCED,
    names: Sequence[str] = (),
    video_urls: Sequence[str] = (),
    locations: Sequence[str] = (),
    attendee_ids: Collection[int] | None = None,
    rng: random.Random | None = None,
) -> BreakoutRound:
    """Opens a breakout round: creates its rooms, fills them, starts the countdown.

    rooms=N makes N rooms; size=K makes as few rooms as hold everyone with at most K each.
    attendee_ids limits the round to those present (None: everyone who joined the event).
    Moves the event to the breakouts phase.
    """
    if (rooms is None) == (size is None):
        raise ValidationError(ROOMS_OR_SIZE, code="rooms_or_size")
    if rooms is not None and not 1 <= rooms <= MAX_ROOMS:
        raise ValidationError(ROOM_COUNT_RANGE, code="room_count_range")
    if size is not None and not MIN_ROOM_SIZE <= size <= MAX_ROOM_SIZE:
        raise ValidationError(ROOM_SIZE_RANGE, code="room_size_range")
    if not 1 <= minutes <= MAX_ROUND_MINUTES:
        raise ValidationError(ROUND_MINUTES_RANGE, code="round_minutes_range")
    if mode not in AssignmentMode.values:
        raise ValidationError(ASSIGNMENT_UNKNOWN, code="assignment_unknown")
    rng = rng or random.Random()  # mixing rooms, not a secret

    # Locking the event serialises two hosts pressing "start" at once.
    event = Event.objects.select_for_update().get(pk=event.pk)
    if BreakoutRound.objects.filter(
        event=event, started_at__isnull=False, ended_at__isnull=True
    ).exists():
        raise ValidationError(ROUND_ALREADY_RUNNING, code="round_already_running")

    sides = selectors.pre_vote_sides(event_id=event.pk, attendee_ids=attendee_ids)
    count = rooms if rooms is not None else max(1, math.ceil(len(sides) / size))
    room_names = _room_names(names, count)
    links = [_clean_room_link(url) for url in video_urls[:count]]
    places = [_clean_location(place) for place in locations[:count]]

    now = timezone.now()
    number = (event.breakout_rounds.aggregate(Max("number"))["number__max"] or 0) + 1
    round_ = BreakoutRound.objects.create(
        event=event,
        number=number,
        assignment=mode,
        started_at=now,
        ends_at=now + timedelta(minutes=minutes),
    )
    if mode == AssignmentMode.BALANCED:
        groups = rooms_deal_balanced(sides=sides, room_count=count, rng=rng)
    elif mode == AssignmentMode.RANDOM:
        groups = rooms_deal_random(attendee_ids=sorted(sides), room_count=count, rng=rng)
    else:
        groups = [[] for _ in room_names]
    created = BreakoutRoom.objects.bulk_create(
        BreakoutRoom(
            round=round_,
            name=name,
            position=i,
            video_url=(links[i] if i < len(links) and links[i] else "")
            or room_video_link(event=event, room_name=name),
            location=places[i] if i < len(places) else "",
            # The only balance hosts see, frozen now: see debates/room_mix.py.
            mix_at_start=room_mix(sides[a] for a in groups[i]),
        )
        for i, name in enumerate(room_names)
    )
    RoomMember.objects.bulk_create(
        RoomMember(room=room, round=round_, attendee_id=attendee_id)
        for room, members in zip(created, groups, strict=True)
        for attendee_id in members
    )
    if event.phase != Phase.BREAKOUTS:
        event.phase = Phase.BREAKOUTS
        event.save(update_fields=["phase", "updated_at"])

    assignments = {
        str(attendee_id): room.pk
        for room, members in zip(created, groups, strict=True)
        for attendee_id in members
    }
    _notify(
        live.event_group(event.pk),
        _round_message(
            round_,
            protocol.ROUND_STARTED,
            assignment=mode,
            rooms=[_room_json(room) for room in created],
            assignments=assignments,
        ),
    )
    _notify_event_changed(event.pk)
    return round_


def _room_sizes(round_: BreakoutRound) -> dict[int, int]:
    sizes = dict.fromkeys(round_.rooms.values_list("pk", flat=True), 0)
    sizes.update(
        RoomMember.objects.filter(round=round_)
        .values("room_id")
        .annotate(n=Count("pk"))
        .values_list("room_id", "n")
    )
    return sizes


def _notify_assigned(
    round_: BreakoutRound, attendee: Attendee, room: BreakoutRoom, old_room_id: int | None
) -> None:
    _notify(
        live.event_group(round_.event_id),
        _round_message(round_, protocol.ROOM_ASSIGNED, attendee=attendee.pk, room=_room_json(room)),
    )
    for room_id in {room.pk, old_room_id} - {None}:
        _notify(live.room_group(room_id), protocol.room_changed(room_id))
    _notify(live.hosts_group(round_.event_id), protocol.room_changed(room.pk))


@transaction.atomic
def room_place_late_joiner(*, attendee: Attendee) -> BreakoutRoom | None:
    """Puts someone who arrives during a round into the smallest room (their room if they have one).

    Among equally small rooms, the one with the fewest people on the newcomer's pre-vote side,
    so the mix stays even. In a round where attendees choose, nobody is placed: they pick.
    """
    running = selectors.round_running(event_id=attendee.event_id)
    if running is None:
        return None
    round_ = _round_for_update(running)
    current = selectors.room_of(attendee_id=attendee.pk, round_id=round_.pk)
    if current is not None or round_.assignment == AssignmentMode.CHOICE:
        return current
    sizes = _room_sizes(round_)
    if not sizes:
        return None
    side = selectors.pre_vote_sides(event_id=attendee.event_id, attendee_ids=[attendee.pk]).get(
        attendee.pk, Side.UNDECIDED
    )
    members = RoomMember.objects.filter(round=round_).values_list("room_id", "attendee_id")
    member_sides = selectors.pre_vote_sides(
        event_id=attendee.event_id, attendee_ids=[a for _, a in members]
    )
    same_side = dict.fromkeys(sizes, 0)
    for room_id, attendee_id in members:
        if member_sides.get(attendee_id) == side:
            same_side[room_id] += 1
    rooms = {room.pk: room for room in round_.rooms.all()}
    room_id = min(sizes, key=lambda pk: (sizes[pk], same_side[pk], rooms[pk].position, pk))
    RoomMember.objects.create(room_id=room_id, round=round_, attendee=attendee)
    _notify_assigned(round_, attendee, rooms[room_id], None)
    return rooms[room_id]


@transaction.atomic
def attendee_move(*, attendee: Attendee, room: BreakoutRoom) -> RoomMember:
    """The host moves someone into another room of the running round (or places them)."""
    round_ = _round_for_update(room.round)
    if attendee.event_id != round_.event_id:
        raise ValidationError(ATTENDEE_NOT_IN_EVENT, code="attendee_not_in_event")
    return _room_enter(round_, attendee, room)


def _room_enter(round_: BreakoutRound, attendee: Attendee, room: BreakoutRoom) -> RoomMember:
    if room.round_id != round_.pk:
        raise ValidationError(ROOM_NOT_IN_ROUND, code="room_not_in_round")
    membership = RoomMember.objects.filter(round=round_, attendee=attendee).first()
    old_room_id = membership.room_id if membership else None
    if membership is None:
        membership = RoomMember.objects.create(room=room, round=round_, attendee=attendee)
    elif membership.room_id != room.pk:
        membership.room = room
        membership.save(update_fields=["room"])
    else:
        return membership
    _notify_assigned(round_, attendee, room, old_room_id)
    return membership


def room_capacity(*, round_: BreakoutRound, room_count: int) -> int:
    """In a round where attendees choose, a room holds an even share of everyone at the event."""
    attendees = Attendee.objects.filter(event_id=round_.event_id).count()
    return max(1, math.ceil(attendees / max(1, room_count)))


@transaction.atomic
def room_choose(*, attendee: Attendee, room: BreakoutRoom) -> RoomMember:
    """An attendee picks (or switches to) a room in a round where attendees choose."""
    round_ = _round_for_update(room.round)
    if attendee.event_id != round_.event_id:
        raise ValidationError(ATTENDEE_NOT_IN_EVENT, code="attendee_not_in_event")
    if round_.assignment != AssignmentMode.CHOICE:
        raise ValidationError(ROOMS_ASSIGNED_BY_HOST, code="rooms_assigned_by_host")
    if room.round_id != round_.pk:
        raise ValidationError(ROOM_NOT_IN_ROUND, code="room_not_in_round")
    sizes = _room_sizes(round_)
    already_here = RoomMember.objects.filter(round=round_, attendee=attendee, room=room).exists()
    if not already_here and sizes[room.pk] >= room_capacity(round_=round_, room_count=len(sizes)):
        raise ValidationError(ROOM_FULL, code="room_full")
    return _room_enter(round_, attendee, room)


@transaction.atomic
def room_update(
    *, room: BreakoutRoom, name: str, video_url: str = "", location: str = ""
) -> BreakoutRoom:
    """The host renames a room or sets its call link or its table."""
    round_ = BreakoutRound.objects.select_for_update().get(pk=room.round_id)
    name = _room_names([name], 1)[0]
    if round_.rooms.filter(name=name).exclude(pk=room.pk).exists():
        raise ValidationError(ROOM_NAMES_INVALID, code="room_names_invalid")
    room.name = name
    room.video_url = _clean_room_link(video_url)
    room.location = _clean_location(location)
    room.save(update_fields=["name", "video_url", "location"])
    _notify(live.room_group(room.pk), protocol.room_changed(room.pk, **_room_json(room)))
    _notify(live.hosts_group(round_.event_id), protocol.room_changed(room.pk))
    return room


@transaction.atomic
def round_message(*, round_: BreakoutRound, text: str) -> BreakoutRound:
    """A message from the host to every room at once ("five minutes left", "wrap up")."""
    text = " ".join(text.split())
    if not text:
        raise ValidationError(ROUND_MESSAGE_EMPTY, code="round_message_empty")
    if len(text) > ROUND_MESSAGE_MAX_LENGTH:
        raise ValidationError(ROUND_MESSAGE_TOO_LONG, code="round_message_too_long")
    round_ = _round_for_update(round_)
    round_.message = text
    round_.message_at = timezone.now()
    round_.save(update_fields=["message", "message_at"])
    _notify(
        live.event_group(round_.event_id),
        _round_message(
            round_, protocol.MESSAGE_BROADCAST, text=text, at=round_.message_at.isoformat()
        ),
    )
    return round_


@transaction.atomic
def round_timer_set(*, round_: BreakoutRound, minutes: int) -> BreakoutRound:
    """Restarts the countdown: it now ends `minutes` from now."""
    if not 1 <= minutes <= MAX_ROUND_MINUTES:
        raise ValidationError(ROUND_MINUTES_RANGE, code="round_minutes_range")
    round_ = _round_for_update(round_)
    return _round_timer_save(round_, timezone.now() + timedelta(minutes=minutes))


@transaction.atomic
def round_extend(*, round_: BreakoutRound, minutes: int) -> BreakoutRound:
    """Adds minutes to the countdown (or takes them off, never to before now)."""
    if not 1 <= abs(minutes) <= MAX_EXTEND_MINUTES:
        raise ValidationError(EXTEND_MINUTES_RANGE, code="extend_minutes_range")
    round_ = _round_for_update(round_)
    now = timezone.now()
    # A countdown already at zero restarts from now: "two more minutes" means two from now.
    base = max(round_.ends_at or now, now)
    return _round_timer_save(round_, max(now, base + timedelta(minutes=minutes)))


def _round_timer_save(round_: BreakoutRound, ends_at: datetime) -> BreakoutRound:
    round_.ends_at = ends_at
    round_.save(update_fields=["ends_at"])
    _notify(live.event_group(round_.event_id), _round_message(round_, protocol.TIMER_CHANGED))
    return round_


@transaction.atomic
def round_end(*, round_: BreakoutRound) -> BreakoutRound:
    """ "Bring everyone back": closes the rooms and moves the event on to the plenary."""
    round_ = _round_for_update(round_)
    round_.ended_at = timezone.now()
    round_.save(update_fields=["ended_at"])
    event = Event.objects.select_for_update().get(pk=round_.event_id)
    if event.phase == Phase.BREAKOUTS:
        event.phase = Phase.PLENARY
        event.save(update_fields=["phase", "updated_at"])
    _notify(
        live.event_group(event.pk), _round_message(round_, protocol.ROUND_ENDED, phase=event.phase)
    )
    _notify_event_changed(event.pk)
    return round_


# ---------------------------------------------------------------- points and takeaways
# (host console)

POINT_MAX_LENGTH = 280
TAKEAWAY_TITLE_MAX_LENGTH = 200
TAKEAWAY_TEXT_MAX_LENGTH = 2000

POINT_EMPTY = _("Write your point first.")
POINT_TOO_LONG = _("Keep a point to 280 characters.")
POINT_SIDE_INVALID = _("A point argues FOR or AGAINST the motion.")
THEME_NOT_IN_EVENT = _("Choose one of this event's themes.")
NOT_A_ROOM_MEMBER = _("Only the people in this room can add to its board.")
POINT_ALREADY_UPVOTED = _("You have already upvoted this point.")
POINT_NOT_ON_BOARD = _("This point is no longer on the board.")
POINT_MERGE_INVALID = _("Merge a point into another point of the same event that is still shown.")
POINT_NOT_HIDDEN = _("This point is not hidden.")
POINT_NOT_MERGED = _("This point is not merged.")
TAKEAWAY_TITLE_EMPTY = _("Give the takeaway a headline.")
TAKEAWAY_TITLE_TOO_LONG = _("Keep a headline to 200 characters.")
TAKEAWAY_TEXT_TOO_LONG = _("Keep a takeaway's text to 2,000 characters.")
TAKEAWAY_ORDER_INVALID = _("The new order must list each of this event's takeaways once.")
POINT_TOO_FAST = _("You have added a lot of points in the last minute. Wait a moment, then add it.")

# Limits (security): an attendee adds at most POINT_RATE_LIMIT points in any POINT_RATE_WINDOW.
# Counted from the points themselves, so every process sees the same count.
POINT_RATE_LIMIT = 6
POINT_RATE_WINDOW = timedelta(seconds=60)


def _clean_point_text(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise ValidationError(POINT_EMPTY, code="point_empty")
    if len(text) > POINT_MAX_LENGTH:
        raise ValidationError(POINT_TOO_LONG, code="point_too_long")
    return text


def _point_json(point: Point) -> dict:
    return {
        "point": point.pk,
        "room": point.room_id,
        "theme": point.theme_id,
        "side": point.side,
        "status": point.status,
        "highlighted": point.highlighted,
        "upvotes": point.upvotes,
        "merged_into": point.merged_into_id,
    }


def _notify_point(point: Point, message_type: str, *, highlights_changed: bool = False) -> None:
    """A room's board hears of its own points, the hosts of every point. Everyone else (the
    projector, the audience in the plenary) only hears that the highlighted points changed:
    one small message, and nothing about points nobody has chosen to show.
    """
    message = protocol.point_message(message_type, point=_point_json(point), text=point.text)
    if point.room_id:
        _notify(live.room_group(point.room_id), message)
    _notify(live.hosts_group(point.event_id), message)
    if highlights_changed:
        _notify(
            live.event_group(point.event_id),
            protocol.highlights_changed(point.event_id),
        )


def _require_room_member(room: BreakoutRoom, attendee: Attendee) -> BreakoutRound:
    round_ = room.round
    if not round_.is_running:
        raise ValidationError(ROUND_NOT_RUNNING, code="round_not_running")
    if not RoomMember.objects.filter(room=room, attendee=attendee).exists():
        raise ValidationError(NOT_A_ROOM_MEMBER, code="not_a_room_member")
    return round_


@transaction.atomic
def point_add(
    *, room: BreakoutRoom, attendee: Attendee, theme: Theme, side: str, text: str
) -> Point:
    """A room member adds a point to the room's board, for one theme and one side."""
    text = _clean_point_text(text)
    if side not in ARGUING_SIDES:
        raise ValidationError(POINT_SIDE_INVALID, code="point_side_invalid")
    round_ = _require_room_member(room, attendee)
    if theme.event_id != round_.event_id:
        raise ValidationError(THEME_NOT_IN_EVENT, code="theme_not_in_event")
    since = timezone.now() - POINT_RATE_WINDOW
    # The attendee's row is the lock: two points sent at once are counted one after the other.
    Attendee.objects.select_for_update().filter(pk=attendee.pk).first()
    if Point.objects.filter(author=attendee, created_at__gte=since).count() >= POINT_RATE_LIMIT:
        raise ValidationError(POINT_TOO_FAST, code="rate_limited")
    point = Point.objects.create(
        event_id=round_.event_id, room=room, theme=theme, side=side, text=text, author=attendee
    )
    _notify_point(point, protocol.POINT_ADDED)
    return point


def _upvoters(point: Point) -> QuerySet[PointUpvote]:
    """Upvotes on a point and on the duplicates merged into it."""
    return PointUpvote.objects.filter(Q(point=point) | Q(point__merged_into=point))


def _recount_upvotes(point: Point) -> None:
    # Distinct people: whoever upvoted both a point and its duplicate counts once.
    point.upvotes = _upvoters(point).values("attendee_id").distinct().count()
    point.save(update_fields=["upvotes"])


@transaction.atomic
def point_upvote(*, point: Point, attendee: Attendee) -> Point:
    """A room member upvotes a point on their room's board, once."""
    # Locked: concurrent upvotes queue, so the recount sees every committed row.
    point = Point.objects.select_for_update().select_related("room__round").get(pk=point.pk)
    if point.status != PointStatus.VISIBLE or point.room is None:
        raise ValidationError(POINT_NOT_ON_BOARD, code="point_not_on_board")
    _require_room_member(point.room, attendee)
    if _upvoters(point).filter(attendee=attendee).exists():
        raise ValidationError(POINT_ALREADY_UPVOTED, code="point_already_upvoted")
    try:
        with transaction.atomic():
            PointUpvote.objects.create(point=point, attendee=attendee)
    except IntegrityError:
        raise ValidationError(POINT_ALREADY_UPVOTED, code="point_already_upvoted") from None
    _recount_upvotes(point)
    _notify_point(point, protocol.POINT_UPVOTED)
    return point


def _point_for_update(point: Point) -> Point:
    return Point.objects.select_for_update().get(pk=point.pk)


@transaction.atomic
def point_hide(*, point: Point) -> Point:
    """A moderator takes an abusive point off every board and out of the recap."""
    point = _point_for_update(point)
    if point.status == PointStatus.VISIBLE:
        was_highlighted = point.highlighted
        point.status = PointStatus.HIDDEN
        point.highlighted = False
        point.save(update_fields=["status", "highlighted"])
        _notify_point(point, protocol.POINT_CHANGED, highlights_changed=was_highlighted)
    return point


@transaction.atomic
def point_unhide(*, point: Point) -> Point:
    point = _point_for_update(point)
    if point.status != PointStatus.HIDDEN:
        raise ValidationError(POINT_NOT_HIDDEN, code="point_not_hidden")
    point.status = PointStatus.VISIBLE
    point.save(update_fields=["status"])
    _notify_point(point, protocol.POINT_CHANGED)
    return point


@transaction.atomic
def point_merge(*, point: Point, into: Point) -> Point:
    """Folds a duplicate into another point: the duplicate leaves the boards and its upvotes
    join the target's, counting each person once. Returns the target.
    """
    # Both rows locked in id order, so two merges of the same pair cannot deadlock.
    locked = {
        p.pk: p
        for p in Point.objects.select_for_update().filter(pk__in=[point.pk, into.pk]).order_by("pk")
    }
    point, into = locked.get(point.pk), locked.get(into.pk)
    if (
        point is None
        or into is None
        or point.pk == into.pk
        or point.event_id != into.event_id
        or point.status == PointStatus.MERGED
        or into.status != PointStatus.VISIBLE
    ):
        raise ValidationError(POINT_MERGE_INVALID, code="point_merge_invalid")
    # One level only: what was merged into the duplicate now points at the target.
    Point.objects.filter(merged_into=point).update(merged_into=into)
    point.status = PointStatus.MERGED
    point.merged_into = into
    # A highlighted duplicate passes its highlight on: the recap keeps the argument.
    highlights_changed = point.highlighted
    into.highlighted = into.highlighted or point.highlighted
    point.highlighted = False
    point.save(update_fields=["status", "merged_into", "highlighted"])
    into.save(update_fields=["highlighted"])
    _recount_upvotes(into)
    _notify_point(point, protocol.POINT_CHANGED)
    _notify_point(into, protocol.POINT_CHANGED, highlights_changed=highlights_changed)
    return into


@transaction.atomic
def point_unmerge(*, point: Point) -> Point:
    """Undoes a merge: the point is shown again and the target's count drops back."""
    point = _point_for_update(point)
    if point.status != PointStatus.MERGED or point.merged_into_id is None:
        raise ValidationError(POINT_NOT_MERGED, code="point_not_merged")
    target = _point_for_update(point.merged_into)
    point.status = PointStatus.VISIBLE
    point.merged_into = None
    point.save(update_fields=["status", "merged_into"])
    _recount_upvotes(target)
    _recount_upvotes(point)
    _notify_point(point, protocol.POINT_CHANGED)
    _notify_point(target, protocol.POINT_CHANGED)
    return point


@transaction.atomic
def point_highlight(*, point: Point, highlighted: bool = True) -> Point:
    """Marks a point for the recap and the projector (or takes the mark off)."""
    point = _point_for_update(point)
    if highlighted and point.status != PointStatus.VISIBLE:
        raise ValidationError(POINT_NOT_ON_BOARD, code="point_not_on_board")
    if point.highlighted != highlighted:
        point.highlighted = highlighted
        point.save(update_fields=["highlighted"])
        _notify_point(point, protocol.POINT_CHANGED, highlights_changed=True)
    return point


@transaction.atomic
def point_edit(*, point: Point, text: str) -> Point:
    """A moderator rewords a point (a typo, or two duplicates summed up in one)."""
    text = _clean_point_text(text)
    point = _point_for_update(point)
    if point.text != text:
        point.text = text
        point.save(update_fields=["text"])
        _notify_point(point, protocol.POINT_CHANGED, highlights_changed=point.highlighted)
    return point


def _clean_takeaway(title: str, text: str) -> tuple[str, str]:
    title = " ".join(title.split())
    text = text.strip()
    if not title:
        raise ValidationError(TAKEAWAY_TITLE_EMPTY, code="takeaway_title_empty")
    if len(title) > TAKEAWAY_TITLE_MAX_LENGTH:
        raise ValidationError(TAKEAWAY_TITLE_TOO_LONG, code="takeaway_title_too_long")
    if len(text) > TAKEAWAY_TEXT_MAX_LENGTH:
        raise ValidationError(TAKEAWAY_TEXT_TOO_LONG, code="takeaway_text_too_long")
    return title, text


def _notify_takeaways(event_id: int) -> None:
    _notify(live.event_group(event_id), protocol.takeaways_changed(event_id))


@transaction.atomic
def takeaway_add(*, event: Event, title: str, text: str = "") -> Takeaway:
    title, text = _clean_takeaway(title, text)
    # The event row is the lock: two takeaways added at once get different positions.
    Event.objects.select_for_update().filter(pk=event.pk).first()
    last = Takeaway.objects.filter(event=event).aggregate(Max("position"))["position__max"]
    takeaway = Takeaway.objects.create(
        event=event, title=title, text=text, position=0 if last is None else last + 1
    )
    _notify_takeaways(event.pk)
    return takeaway


@transaction.atomic
def takeaway_edit(*, takeaway: Takeaway, title: str, text: str = "") -> Takeaway:
    takeaway.title, takeaway.text = _clean_takeaway(title, text)
    takeaway.save(update_fields=["title", "text"])
    _notify_takeaways(takeaway.event_id)
    return takeaway


@transaction.atomic
def takeaway_delete(*, takeaway: Takeaway) -> None:
    event_id = takeaway.event_id
    takeaway.delete()
    _renumber_takeaways(
        event_id, list(Takeaway.objects.filter(event_id=event_id).order_by("position", "id"))
    )
    _notify_takeaways(event_id)


def _renumber_takeaways(event_id: int, ordered: Sequence[Takeaway]) -> None:
    for position, takeaway in enumerate(ordered):
        takeaway.position = position
    Takeaway.objects.bulk_update(ordered, ["position"])


@transaction.atomic
def takeaway_reorder(*, event: Event, order: Sequence[int]) -> list[Takeaway]:
    """Puts the event's takeaways in the given order of ids (each exactly once)."""
    Event.objects.select_for_update().filter(pk=event.pk).first()
    takeaways = {t.pk: t for t in Takeaway.objects.filter(event=event)}
    if len(order) != len(takeaways) or set(order) != set(takeaways):
        raise ValidationError(TAKEAWAY_ORDER_INVALID, code="takeaway_order_invalid")
    ordered = [takeaways[pk] for pk in order]
    _renumber_takeaways(event.pk, ordered)
    _notify_takeaways(event.pk)
    return ordered


@transaction.atomic
def takeaway_move(*, takeaway: Takeaway, offset: int) -> list[Takeaway]:
    """Moves a takeaway up (offset -1) or down (+1) the list: the console's arrow buttons."""
    ids = list(
        Takeaway.objects.filter(event_id=takeaway.event_id)
        .order_by("position", "id")
        .values_list("pk", flat=True)
    )
    if takeaway.pk not in ids:
        raise ValidationError(TAKEAWAY_ORDER_INVALID, code="takeaway_order_invalid")
    i = ids.index(takeaway.pk)
    j = min(max(i + offset, 0), len(ids) - 1)
    ids.insert(j, ids.pop(i))
    return takeaway_reorder(event=takeaway.event, order=ids)
