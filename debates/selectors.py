"""Reads about the live debate, and who may do what in it.

Access: one question decides who reaches host controls, over HTTP and over the socket:
can_host(event=..., user=..., session=...). A host is the event's organiser, a superuser, a
Speaker with role host or moderator linked to that account, or a browser whose session
redeemed the event's secret host link (debates:host_link, debates.services.hosts).
"""

from __future__ import annotations

import hmac
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest
from django.utils.translation import gettext_lazy as _

from debates.live import protocol
from debates.models import (
    ARGUING_SIDES,
    BreakoutRoom,
    BreakoutRound,
    Point,
    PointStatus,
    PointUpvote,
    Poll,
    PollKind,
    PollState,
    Rehearsal,
    ResultsVisibility,
    RoomMember,
    SetAside,
    Takeaway,
    Vote,
)
from debates.models_audience import Question, ReactionCount
from debates.models_stage import TurnRun
from debates.room_mix import MIX_LABELS, NOT_VOTED, TOO_SMALL
from events.models import Attendee, Event, Phase, Side, SpeakerRole, Theme

# The session remembers, per event id, the host key it was granted with: rotating an event's
# host_key then locks out every browser that came in through the old link.
HOST_SESSION_KEY = "pb_host_events"
HOST_ROLES = (SpeakerRole.HOST, SpeakerRole.MODERATOR)

NOT_A_HOST = _("Only this event's hosts can do that.")


def session_host_keys(session: Mapping[str, Any] | None) -> dict[str, str]:
    if session is None:
        return {}
    keys = session.get(HOST_SESSION_KEY)
    return keys if isinstance(keys, dict) else {}


def can_host(*, event: Event, user: Any, session: Mapping[str, Any] | None) -> bool:
    """Whether this user or session may run the event's console.

    `user` may be an AnonymousUser or None (a socket scope without auth); `session` is
    request.session or scope["session"]. Costs at most one query (the team and speaker lookup).
    """
    granted = session_host_keys(session).get(str(event.pk))
    if granted and hmac.compare_digest(granted, event.host_key):
        return True
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser or event.organiser_id == user.pk:
        return True
    # On the event's team (any role: co-organisers, hosts and moderators all run the console),
    # or a host or moderator speaker linked to the account: one query for both.
    return Event.objects.filter(
        Q(memberships__user=user) | Q(speakers__user=user, speakers__role__in=HOST_ROLES),
        pk=event.pk,
    ).exists()


def event_for_host(request: HttpRequest, slug: str) -> Event:
    """The event a host view works on: 404 if there is none, 403 if the request may not host it."""
    try:
        event = Event.objects.get(slug=slug)
    except Event.DoesNotExist:
        raise Http404(_("No such event.")) from None
    if not can_host(event=event, user=request.user, session=request.session):
        raise PermissionDenied(NOT_A_HOST)
    return event


# ---------------------------------------------------------------- joining, voting and tallies

# The session maps event ids to the attendee's secret token: {"attendees": {"12": "..."}}.
# Views and the socket consumer read the same session (AuthMiddlewareStack).
ATTENDEE_SESSION_KEY = "attendees"


def attendee_token(session: Mapping[str, Any] | None, event_id: int) -> str | None:
    if session is None:
        return None
    tokens = session.get(ATTENDEE_SESSION_KEY)
    token = tokens.get(str(event_id)) if isinstance(tokens, dict) else None
    return token if isinstance(token, str) and token else None


def attendee_for_session(*, event: Event, session: Mapping[str, Any] | None) -> Attendee | None:
    """Who this browser is at the event, or None. One query (none without a token)."""
    token = attendee_token(session, event.pk)
    if token is None:
        return None
    return Attendee.objects.filter(event=event, token=token).first()


def votes_of(*, attendee_id: int) -> dict[int, str]:
    """The attendee's current side in each poll, by poll id."""
    return dict(Vote.objects.filter(attendee_id=attendee_id).values_list("poll_id", "side"))


@dataclass(frozen=True)
class TallyRow:
    side: str
    label: str
    count: int
    percent: int


def _percentages(counts: dict[str, int], total: int) -> dict[str, int]:
    """Whole percentages that add up to 100 (largest remainder), so the bars fill the width."""
    if total == 0:
        return dict.fromkeys(counts, 0)
    exact = {side: 100 * n / total for side, n in counts.items()}
    whole = {side: int(value) for side, value in exact.items()}
    short = 100 - sum(whole.values())
    for side in sorted(exact, key=lambda s: whole[s] - exact[s])[:short]:
        whole[side] += 1
    return whole


@dataclass(frozen=True)
class PollSnapshot:
    """A poll's tally at one version: what a tally.updated message carries."""

    id: int
    event_id: int
    kind: str
    question: str
    state: str
    results_visibility: str
    version: int
    counts: dict[str, int]
    attendees: int
    set_aside: int = 0  # votes set aside by a host: stored, in none of the counts
    revealed: bool = False  # the host pressed Reveal (debates.services.reveal)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def percent(self) -> dict[str, int]:
        return _percentages(self.counts, self.total)

    @property
    def visible_to_attendees(self) -> bool:
        """Against herding, a host may hide the tally from the audience until the close."""
        if self.results_visibility == ResultsVisibility.AFTER_REVEAL:
            return self.revealed
        return self.state == PollState.CLOSED or self.results_visibility == ResultsVisibility.LIVE

    @property
    def rows(self) -> list[TallyRow]:
        percent = self.percent
        return [
            TallyRow(
                side=side.value,
                label=str(side.label),
                count=self.counts[side],
                percent=percent[side],
            )
            for side in Side
        ]

    @property
    def kind_label(self) -> str:
        return str(PollKind(self.kind).label)

    @property
    def is_open(self) -> bool:
        return self.state == PollState.OPEN

    def message(self, *, full: bool) -> dict[str, Any]:
        """The tally.updated message. `full`: for hosts, who always see counts and turnout."""
        visible = full or self.visible_to_attendees
        return protocol.tally_updated(
            poll=self.id,
            version=self.version,
            kind=self.kind,
            state=self.state,
            visible=visible,
            hidden_from_attendees=not self.visible_to_attendees,
            total=self.total,
            set_aside=self.set_aside,
            counts=self.counts if visible else None,
            percent=self.percent if visible else None,
            attendees=self.attendees if full else None,
        )


# Raw SQL on purpose: the ORM spent ~8 ms building this query (four correlated subqueries), the
# database 0.05 ms running it, and it runs on every broadcast, every connect and every HTTP vote.
# Scalar subqueries, not JOIN + GROUP BY: each count is one probe of an index per poll.
# Set-aside voters (debates.services.set_aside) count in no tally and not as joined: their votes are
# left out (counted) and reported apart; they are subtracted from the joined count.
_SNAPSHOT_SQL = """
SELECT p.id, p.event_id, p.kind, p.question, p.state, p.results_visibility, p.version, e.motion,
  p.revealed_at IS NOT NULL,
  (SELECT COUNT(*) FROM {attendee} a WHERE a.event_id = p.event_id)
  - (SELECT COUNT(*) FROM {attendee} a WHERE a.event_id = p.event_id AND a.set_aside),
  (SELECT COUNT(*) FROM {vote} v WHERE v.poll_id = p.id AND NOT v.counted),
  (SELECT COUNT(*) FROM {vote} v WHERE v.poll_id = p.id AND v.counted AND v.side = %s),
  (SELECT COUNT(*) FROM {vote} v WHERE v.poll_id = p.id AND v.counted AND v.side = %s),
  (SELECT COUNT(*) FROM {vote} v WHERE v.poll_id = p.id AND v.counted AND v.side = %s)
FROM {poll} p JOIN {event} e ON e.id = p.event_id
WHERE {where}
ORDER BY p.created_at, p.id
"""


def poll_snapshots(
    *, event_id: int | None = None, poll_id: int | None = None
) -> list[PollSnapshot]:
    """Tally snapshots of an event's polls that are not drafts (or of one poll, any state).

    ONE statement, so the version and the counts always belong together, on SQLite and on
    PostgreSQL alike. The counts use debates_vote_tally_idx, events_attendee_joined_idx and
    events_attendee_aside_idx.
    """
    if poll_id is not None:
        where, params = "p.id = %s", [poll_id]
    else:
        where, params = "p.event_id = %s AND p.state <> %s", [event_id, PollState.DRAFT.value]
    sql = _SNAPSHOT_SQL.format(
        attendee=Attendee._meta.db_table,
        vote=Vote._meta.db_table,
        poll=Poll._meta.db_table,
        event=Event._meta.db_table,
        where=where,
    )
    sides = Side.values
    with connection.cursor() as cursor:
        cursor.execute(sql, [*sides, *params])
        rows = cursor.fetchall()
    return [
        PollSnapshot(
            id=pk,
            event_id=event,
            kind=kind,
            question=question or motion,
            state=state,
            results_visibility=visibility,
            version=version,
            counts=dict(zip(sides, counts, strict=True)),
            attendees=attendees,
            set_aside=aside,
            revealed=bool(revealed),
        )
        for pk, event, kind, question, state, visibility, version, motion, revealed, attendees, aside, *counts in rows
    ]


def poll_snapshot(*, poll_id: int) -> PollSnapshot | None:
    snapshots = poll_snapshots(poll_id=poll_id)
    return snapshots[0] if snapshots else None


def event_polls(*, event_id: int) -> list[Poll]:
    """The pre-vote and final vote of an event (any state), for the host's console."""
    return list(Poll.objects.filter(event_id=event_id).order_by("created_at", "pk"))


# ---------------------------------------------------------------- rooms, points, takeaways


def pre_vote_sides(*, event_id: int, attendee_ids: Collection[int] | None = None) -> dict[int, str]:
    """Each attendee's pre-vote side; NOT_VOTED ("") for an attendee who did not pre-vote,
    who is not undecided: they said nothing (debates.room_mix).

    Two queries. Keys are every attendee asked about (or every attendee of the event).
    """
    attendees = Attendee.objects.filter(event_id=event_id)
    if attendee_ids is not None:
        attendees = attendees.filter(pk__in=attendee_ids)
    sides = dict.fromkeys(attendees.values_list("pk", flat=True), NOT_VOTED)
    votes = Vote.objects.filter(
        poll__event_id=event_id, poll__kind=PollKind.PRE_VOTE, attendee_id__in=list(sides)
    ).values_list("attendee_id", "side")
    sides.update(votes)
    return sides


def round_running(*, event_id: int) -> BreakoutRound | None:
    """The breakout round in progress, if any (at most one runs at a time: see round_start)."""
    return (
        BreakoutRound.objects.filter(
            event_id=event_id, started_at__isnull=False, ended_at__isnull=True
        )
        .order_by("-number")
        .first()
    )


def round_latest(*, event_id: int) -> BreakoutRound | None:
    return BreakoutRound.objects.filter(event_id=event_id).order_by("-number").first()


def room_of(*, attendee_id: int, round_id: int) -> BreakoutRoom | None:
    membership = (
        RoomMember.objects.filter(attendee_id=attendee_id, round_id=round_id)
        .select_related("room")
        .first()
    )
    return membership.room if membership else None


@dataclass(frozen=True)
class RoomView:
    room: BreakoutRoom
    members: list[Attendee]

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def mix(self) -> str:
        """The balance frozen when the round started, in words: never live counts of
        pre-votes, which would tell a host the pre-vote of anyone they move."""
        return str(MIX_LABELS.get(self.room.mix_at_start, MIX_LABELS[TOO_SMALL]))


def rooms_with_members(*, round_id: int) -> list[RoomView]:
    """Every room of a round with its members (no votes: see RoomView.mix). Two queries."""
    rooms = list(
        BreakoutRoom.objects.filter(round_id=round_id)
        .select_related("round")
        .order_by("position", "id")
    )
    memberships = (
        RoomMember.objects.filter(round_id=round_id)
        .select_related("attendee")
        .order_by("attendee__display_name", "attendee_id")
    )
    by_room: dict[int, list[Attendee]] = {room.pk: [] for room in rooms}
    for membership in memberships:
        by_room[membership.room_id].append(membership.attendee)
    return [RoomView(room=room, members=by_room[room.pk]) for room in rooms]


def room_points(*, room_id: int) -> QuerySet[Point]:
    """A room's live board: its visible points, most upvoted first."""
    return (
        Point.objects.filter(room_id=room_id, status=PointStatus.VISIBLE)
        .select_related("theme", "author")
        .order_by("-upvotes", "created_at")
    )


def upvoted_point_ids(*, attendee_id: int, point_ids: Collection[int]) -> set[int]:
    return set(
        PointUpvote.objects.filter(attendee_id=attendee_id, point_id__in=point_ids).values_list(
            "point_id", flat=True
        )
    )


@dataclass(frozen=True)
class ThemePoints:
    theme: Theme
    by_side: dict[str, list[Point]]


def plenary_points(*, event_id: int, include_hidden: bool = False) -> list[ThemePoints]:
    """All points of the event grouped by theme (in the event's order) and side (FOR, AGAINST).

    Highlighted first, then most upvoted. Merged duplicates are left out; hidden ones only
    for the moderator (include_hidden), who also sees what was merged into each. Three queries.
    """
    themes = list(Theme.objects.filter(event_id=event_id).order_by("position", "id"))
    statuses = (
        [PointStatus.VISIBLE, PointStatus.HIDDEN] if include_hidden else [PointStatus.VISIBLE]
    )
    points = (
        Point.objects.filter(event_id=event_id, status__in=statuses)
        .select_related("room", "theme")
        .prefetch_related("merged_points")
        .order_by("-highlighted", "-upvotes", "created_at")
    )
    grouped = {theme.pk: {side: [] for side in ARGUING_SIDES} for theme in themes}
    for point in points:
        grouped[point.theme_id][point.side].append(point)
    return [ThemePoints(theme=theme, by_side=grouped[theme.pk]) for theme in themes]


def highlighted_points(*, event_id: int) -> QuerySet[Point]:
    return (
        Point.objects.filter(event_id=event_id, status=PointStatus.VISIBLE, highlighted=True)
        .select_related("theme")
        .order_by("theme__position", "side", "-upvotes")
    )


def takeaways(*, event_id: int) -> QuerySet[Takeaway]:
    return Takeaway.objects.filter(event_id=event_id).order_by("position", "id")


def attendees_joined(*, event_id: int) -> int:
    """Joined in total, leaving out the set-aside (connected now comes from debates.live)."""
    return Attendee.objects.filter(event_id=event_id, set_aside=False).count()


def room_members(*, room_id: int) -> list[Attendee]:
    return [
        membership.attendee
        for membership in RoomMember.objects.filter(room_id=room_id)
        .select_related("attendee")
        .order_by("joined_at", "pk")
    ]


def attendees_without_room(*, event_id: int, round_id: int) -> QuerySet[Attendee]:
    """Who joined the event but has no room in this round (arrived late, or has not chosen)."""
    return (
        Attendee.objects.filter(event_id=event_id)
        .exclude(memberships__round_id=round_id)
        .order_by("joined_at", "pk")
    )


# ---------------------------------------------------------------- rehearsals


def rehearsal_current(*, event_id: int) -> Rehearsal | None:
    """The event's rehearsal that has not been reset yet (running or stopped), if any."""
    return Rehearsal.objects.filter(event_id=event_id, reset_at__isnull=True).first()


def event_is_draft(*, event: Event) -> bool:
    """Whether nothing has happened at the event yet, so a rehearsal can run on it and its
    reset take it back exactly here: in the lobby, never published, nobody joined, and no
    poll, room, point, takeaway or set-aside, no question, reaction or turn on the clock. One
    query (none outside the lobby)."""
    if event.phase != Phase.LOBBY or event.recap_first_published_at is not None:
        return False
    happened = Q()
    for model in (
        Attendee,
        Poll,
        BreakoutRound,
        Point,
        Takeaway,
        SetAside,
        Question,
        ReactionCount,
        TurnRun,
    ):
        happened |= Q(Exists(model.objects.filter(event_id=OuterRef("pk"))))
    return not Event.objects.filter(happened, pk=event.pk).exists()
