"""Votes and polls: who may vote, how a ballot is counted, opening and closing a poll.
Broadcasts happen in transaction.on_commit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from debates import live
from debates.models import Poll, PollKind, PollState, ResultsVisibility, Vote, VoteLog
from events.models import Attendee, Event, Phase, Side

VOTE_SIDE_UNKNOWN = _("Choose for, against or undecided.")
VOTE_POLL_UNKNOWN = _("There is no such poll.")
VOTE_POLL_OTHER_EVENT = _("This poll belongs to another event.")
VOTE_POLL_NOT_OPEN = _("This poll has not opened yet.")
VOTE_POLL_CLOSED = _("This poll is closed.")
VOTE_ATTENDEE_UNKNOWN = _("Join this event before you vote.")
VOTE_NOT_SAVED = _("Your vote could not be saved. Please try again.")
VOTE_TOO_FAST = _("You are changing your vote very fast. Wait a minute, then vote again.")
VOTE_SIMULATED = _("A rehearsal's simulated attendee cannot vote once the rehearsal is over.")
REVEAL_FINAL_ONLY = _("Only the final vote can wait for the reveal.")

# Limits (security): an attendee may cast or change a vote VOTE_RATE_LIMIT times in any
# VOTE_RATE_WINDOW, over all polls. Counted from VoteLog in the database, so the count is the
# same in every process; casting the same side again is free (it changes and logs nothing).
VOTE_RATE_LIMIT = 30
VOTE_RATE_WINDOW = timedelta(seconds=60)


class VoteRefusal(StrEnum):
    """Why a ballot was turned down. Transports answer by the code (a view picks its HTTP
    status, the socket sends the message): nothing is keyed by the translated text."""

    SIDE_UNKNOWN = "side_unknown"
    ATTENDEE_UNKNOWN = "attendee_unknown"
    POLL_UNKNOWN = "poll_unknown"
    POLL_OTHER_EVENT = "poll_other_event"
    POLL_NOT_OPEN = "poll_not_open"
    POLL_CLOSED = "poll_closed"
    TOO_FAST = "too_fast"
    SIMULATED = "simulated"  # a rehearsal's attendee, in an event no longer rehearsing


VOTE_REFUSAL_MESSAGES = {
    VoteRefusal.SIDE_UNKNOWN: VOTE_SIDE_UNKNOWN,
    VoteRefusal.ATTENDEE_UNKNOWN: VOTE_ATTENDEE_UNKNOWN,
    VoteRefusal.POLL_UNKNOWN: VOTE_POLL_UNKNOWN,
    VoteRefusal.POLL_OTHER_EVENT: VOTE_POLL_OTHER_EVENT,
    VoteRefusal.POLL_NOT_OPEN: VOTE_POLL_NOT_OPEN,
    VoteRefusal.POLL_CLOSED: VOTE_POLL_CLOSED,
    VoteRefusal.TOO_FAST: VOTE_TOO_FAST,
    VoteRefusal.SIMULATED: VOTE_SIMULATED,
}


class VoteRefused(Exception):
    """A vote the rules turn down: `code` says which rule, `reason` is the message to show."""

    def __init__(self, code: VoteRefusal) -> None:
        self.code = code
        self.reason = str(VOTE_REFUSAL_MESSAGES[code])
        super().__init__(self.reason)


@dataclass(frozen=True, slots=True)
class Ballot:
    """One vote as a transport received it. `event_id` is the event the voter joined (from
    their session), so a forged poll id of another event is refused."""

    poll_id: int
    attendee_id: int
    event_id: int
    side: str


_SIDES = frozenset(Side.values)  # Side.values builds a new list at every call


def _ballot_refusal(
    ballot: Ballot, poll: Poll | None, attendee_event_id: int | None, *, simulated: bool = False
) -> VoteRefusal | None:
    """The one place that says whether a ballot counts: None if it does, else why not.
    `simulated`: the voter is a rehearsal's and their event is not rehearsing (any more)."""
    if ballot.side not in _SIDES:
        return VoteRefusal.SIDE_UNKNOWN
    if attendee_event_id is None or attendee_event_id != ballot.event_id:
        return VoteRefusal.ATTENDEE_UNKNOWN
    if simulated:
        return VoteRefusal.SIMULATED
    if poll is None:
        return VoteRefusal.POLL_UNKNOWN
    if poll.event_id != ballot.event_id:
        return VoteRefusal.POLL_OTHER_EVENT
    if poll.state == PollState.DRAFT:
        return VoteRefusal.POLL_NOT_OPEN
    if poll.state != PollState.OPEN:
        return VoteRefusal.POLL_CLOSED
    return None


@dataclass(frozen=True, slots=True)
class BatchResult:
    refusals: list[VoteRefusal | None]  # per ballot: None (counted) or why it was refused
    versions: dict[int, int]  # per poll: the Poll.version whose snapshot includes the batch

    @property
    def reasons(self) -> list[str | None]:
        """Per ballot: None (counted) or the message saying why not (what the socket sends)."""
        return [
            None if code is None else str(VOTE_REFUSAL_MESSAGES[code]) for code in self.refusals
        ]


@transaction.atomic
def votes_cast_batch(*, ballots: Sequence[Ballot]) -> BatchResult:
    """Applies ballots in order, in ONE transaction; returns, per ballot, None (counted) or
    the code of the rule that refused it, and per poll the version that shows the batch. Nothing is
    counted unless the transaction commits.

    Locks the rows of the polls involved (in id order, so concurrent batches cannot deadlock):
    a batch, a single vote and a poll closing are serialised per poll, so "is the poll open" and
    the upsert see the same state. An attendee may appear several times: the last ballot wins
    and every change is logged. Poll.version goes up once per poll per batch that changed it.
    Database calls are constant in the batch size (bulk reads, one upsert, one log insert).
    """
    if not ballots:
        return BatchResult(refusals=[], versions={})
    poll_ids = sorted({b.poll_id for b in ballots})
    attendee_ids = {b.attendee_id for b in ballots}
    polls = {
        poll.pk: poll
        for poll in Poll.objects.select_for_update().filter(pk__in=poll_ids).order_by("pk")
    }
    # Read after the poll locks: a set-aside (debates.services.set_aside) takes them too, so the flag
    # read here is the one its transaction left, and no vote slips between the two.
    attendee_events, aside, simulated = {}, set(), set()
    for pk, event_id, set_aside, is_simulated in Attendee.objects.filter(
        pk__in=attendee_ids
    ).values_list("pk", "event_id", "set_aside", "simulated"):
        attendee_events[pk] = event_id
        if set_aside:
            aside.add(pk)
        if is_simulated:
            simulated.add(pk)
    if simulated:
        # A rehearsal's people vote only while their event rehearses: never in a real event
        # (a query only when the batch holds any of them).
        rehearsing = set(
            Event.objects.filter(
                pk__in={attendee_events[pk] for pk in simulated}, rehearsing=True
            ).values_list("pk", flat=True)
        )
        simulated = {pk for pk in simulated if attendee_events[pk] not in rehearsing}
    # (poll, attendee) -> side: what is stored, then what the batch has made of it so far.
    sides: dict[tuple[int, int], str] = {
        (poll_id, attendee_id): side
        for poll_id, attendee_id, side in Vote.objects.filter(
            poll_id__in=list(polls), attendee_id__in=attendee_ids
        ).values_list("poll_id", "attendee_id", "side")
    }
    now = timezone.now()
    at = connection.ops.adapt_datetimefield_value(now)  # once for every row of the batch
    recent = _recent_votes(attendee_ids, since=now - VOTE_RATE_WINDOW)
    upserts: dict[tuple[int, int], tuple] = {}  # rows in _VOTE_COLUMNS order, one per key
    log: list[tuple] = []  # rows in _LOG_COLUMNS order
    touched: set[int] = set()
    results: list[VoteRefusal | None] = []
    for ballot in ballots:
        poll = polls.get(ballot.poll_id)
        refusal = _ballot_refusal(
            ballot,
            poll,
            attendee_events.get(ballot.attendee_id),
            simulated=ballot.attendee_id in simulated,
        )
        results.append(refusal)
        if refusal is not None:
            continue
        key = (ballot.poll_id, ballot.attendee_id)
        previous = sides.get(key, "")
        if previous == ballot.side:
            continue  # the same choice again: counted already, nothing to log
        if recent[ballot.attendee_id] >= VOTE_RATE_LIMIT:
            results[-1] = VoteRefusal.TOO_FAST
            continue
        recent[ballot.attendee_id] += 1
        sides[key] = ballot.side
        # The row as a first vote inserts it: set aside, it is stored and acknowledged like
        # any vote (it is committed) but counted in no tally. On a stored vote the upsert
        # changes only its side and updated_at (cast_at and counted stay as they are).
        counted = ballot.attendee_id not in aside
        upserts[key] = (ballot.poll_id, ballot.attendee_id, ballot.side, at, at, counted)
        log.append((ballot.poll_id, ballot.attendee_id, ballot.side, previous, at))
        touched.add(ballot.poll_id)
    _votes_store(list(upserts.values()), log)
    for poll_id in sorted(touched):
        Poll.objects.filter(pk=poll_id).update(version=F("version") + 1)
        transaction.on_commit(partial(live.tally_changed, poll_id))
    # The rows are locked: no one else moved the versions read above.
    versions = {pk: poll.version + (pk in touched) for pk, poll in polls.items()}
    return BatchResult(refusals=results, versions=versions)


# The columns _votes_store fills, by model field name.
_VOTE_COLUMNS = ("poll", "attendee", "side", "cast_at", "updated_at", "counted")
_VOTE_KEY = ("poll", "attendee")  # debates_vote_one_per_attendee_per_poll
_VOTE_CHANGED = ("side", "updated_at")
_LOG_COLUMNS = ("poll", "attendee", "side", "previous_side", "at")


def _votes_store(votes: list[tuple], log: list[tuple]) -> None:
    """The batch's votes as ONE upsert statement (INSERT ... ON CONFLICT (poll, attendee) DO
    UPDATE, in SQLite and PostgreSQL alike) and its log as one insert, each run for every row
    with executemany. Rows are in _VOTE_COLUMNS and _LOG_COLUMNS order, values already adapted
    for the database, at most one vote row per (poll, attendee).

    Written without the ORM's bulk_create on purpose: its per-object, per-field preparation
    (model instances, pre_save, get_db_prep_save, a datetime adapted per row) was 60 % of the
    socket writer's CPU; the rows here need none of it (BENCHMARKS.md, issue 14)."""
    if not votes:
        return
    quote = connection.ops.quote_name

    def columns(model: type, names: tuple[str, ...]) -> list[str]:
        return [quote(model._meta.get_field(name).column) for name in names]

    def insert(model: type, names: tuple[str, ...]) -> str:
        marks = ", ".join(["%s"] * len(names))
        table = quote(model._meta.db_table)
        # Only the models' own table and column names, quoted; every value is a parameter.
        return f"INSERT INTO {table} ({', '.join(columns(model, names))}) VALUES ({marks})"  # noqa: S608

    key = ", ".join(columns(Vote, _VOTE_KEY))
    changed = ", ".join(f"{c} = excluded.{c}" for c in columns(Vote, _VOTE_CHANGED))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"{insert(Vote, _VOTE_COLUMNS)} ON CONFLICT ({key}) DO UPDATE SET {changed}", votes
        )
        cursor.executemany(insert(VoteLog, _LOG_COLUMNS), log)


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

    Raises VoteRefused with the code of the rule that turned it down.
    """
    ballot = Ballot(poll_id=poll.pk, attendee_id=attendee.pk, event_id=attendee.event_id, side=side)
    [refusal] = votes_cast_batch(ballots=[ballot]).refusals
    if refusal is not None:
        raise VoteRefused(refusal)


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
    _reveal_check(kind, results_visibility)
    Poll.objects.get_or_create(event=event, kind=kind)
    poll = Poll.objects.select_for_update().get(event=event, kind=kind)
    if poll.state == PollState.OPEN and poll.results_visibility == results_visibility:
        return poll
    poll.state = PollState.OPEN
    poll.results_visibility = results_visibility
    poll.opened_at = poll.opened_at or timezone.now()
    poll.closed_at = None
    poll.revealed_at = None  # votes may change again: the reveal is over until the next one
    poll.version += 1
    poll.save(
        update_fields=[
            "state",
            "results_visibility",
            "opened_at",
            "closed_at",
            "revealed_at",
            "version",
        ]
    )
    _phase_catch_up(event=event, phase=_POLL_PHASE.get(kind))
    _poll_changed(poll)
    return poll


def _reveal_check(kind: str, results_visibility: str) -> None:
    if results_visibility == ResultsVisibility.AFTER_REVEAL and kind != PollKind.FINAL_VOTE:
        raise ValidationError(REVEAL_FINAL_ONLY, code="reveal_final_only")


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
    _reveal_check(poll.kind, results_visibility)
    if poll.results_visibility == results_visibility:
        return poll
    poll.results_visibility = results_visibility
    poll.version += 1
    poll.save(update_fields=["results_visibility", "version"])
    _poll_changed(poll)
    return poll
