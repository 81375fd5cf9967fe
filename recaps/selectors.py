"""Reads for the recap. Each returns a queryset or a small value, never writes.

event_recap() is the one snapshot behind the organiser summary, the public recap and the
Markdown export: every figure those show is computed here, once, and rendered from its result.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict

from django.db.models import Count, QuerySet
from django.utils.translation import gettext_lazy as _

from debates.models import (
    BreakoutRoom,
    BreakoutRound,
    Point,
    PointStatus,
    Poll,
    PollKind,
    RoomMember,
    Takeaway,
    Vote,
    VoteLog,
)
from events.models import Attendee, Event, Side, Speaker, SpeakerRole
from recaps import disclosure, stage
from recaps.figures import (
    SIDES,
    Attendance,
    OpeningView,
    Person,
    PollTally,
    PollTimeline,
    Recap,
    RecapPoint,
    RecapResource,
    RecapTakeaway,
    Result,
    ResultRow,
    RoomPoints,
    RoomSwing,
    SideCount,
    TallyStep,
    ThemeDiscussion,
    TransitionCell,
    TransitionRow,
    Transitions,
    Turnout,
    Window,
    percent,
    swing_between,
    verdict_for,
)


def event_recap(event: Event) -> Recap:
    """The recap snapshot of one event.

    Query cost: about a dozen queries whatever the size of the event (votes, the vote log,
    room members and points are each read in one query and counted in Python).
    """
    speakers = list(event.speakers.all())
    polls = {
        p.kind: p
        for p in Poll.objects.filter(event=event, kind__in=[PollKind.PRE_VOTE, PollKind.FINAL_VOTE])
    }
    pre_poll, final_poll = polls.get(PollKind.PRE_VOTE), polls.get(PollKind.FINAL_VOTE)
    choices: dict[int, dict[int, str]] = defaultdict(dict)  # poll id -> attendee id -> side
    for poll_id, attendee_id, side in Vote.objects.filter(
        poll__in=polls.values(), counted=True
    ).values_list("poll_id", "attendee_id", "side"):
        choices[poll_id][attendee_id] = side
    pre_votes = choices[pre_poll.pk] if pre_poll else {}
    final_votes = choices[final_poll.pk] if final_poll else {}
    rounds = list(BreakoutRound.objects.filter(event=event))
    rooms = list(
        BreakoutRoom.objects.filter(round__event=event)
        .select_related("round")
        .order_by("round__number", "position", "id")
    )
    result = result_figures(pre_poll, final_poll, pre_votes, final_votes, rooms)
    room_points, hidden = _room_points(event, rooms)
    return Recap(
        event=event,
        hosts=tuple(
            _person(s) for s in speakers if s.role in (SpeakerRole.HOST, SpeakerRole.MODERATOR)
        ),
        views=tuple(
            OpeningView(
                side=side, side_label=str(side.label), speaker=_person(s), statement=s.statement
            )
            for side in (Side.FOR, Side.AGAINST)
            for s in speakers
            if s.side == side and s.statement.strip()
        ),
        themes=_themes(event),
        takeaways=tuple(
            RecapTakeaway(title=t.title, text=t.text) for t in Takeaway.objects.filter(event=event)
        ),
        resources=tuple(RecapResource(title=r.title, url=r.url) for r in event.resources.all()),
        result=result,
        timelines=tuple(
            timeline
            for poll, votes in ((pre_poll, pre_votes), (final_poll, final_votes))
            if poll is not None and disclosure.poll_shown(len(votes))
            for timeline in [_timeline(poll)]
            if timeline.steps
        ),
        turnout=Turnout(
            attendees=Attendee.objects.filter(event=event, set_aside=False).count(),
            pre_voters=len(pre_votes),
            final_voters=len(final_votes),
            both_voters=len(set(pre_votes) & set(final_votes)),
        ),
        attendance=_attendance(event, [p for p in (pre_poll, final_poll) if p], rounds),
        room_points=room_points,
        room_count=len(rooms),
        hidden_points=hidden,
        set_aside_votes=Vote.objects.filter(poll__in=polls.values(), counted=False).count(),
        turns=stage.recap_turns(event),
        persuaders=stage.persuaders(event, pre=pre_votes, final=final_votes),
    )


def _person(speaker: Speaker) -> Person:
    return Person(
        name=speaker.name,
        role=speaker.role,
        role_label=str(speaker.get_role_display()),
        affiliation=speaker.affiliation,
    )


def _tally(poll: Poll, votes: dict[int, str]) -> PollTally:
    counts = Counter(votes.values())
    total = len(votes)
    return PollTally(
        kind=poll.kind,
        label=str(poll.get_kind_display()),
        total=total,
        sides=tuple(
            SideCount(
                side=s, label=str(s.label), count=counts[s], percent=percent(counts[s], total)
            )
            for s in SIDES
        ),
    )


def _for_swing(pre: dict[int, str], final: dict[int, str], voters: set[int]) -> tuple:
    """FOR share before, after, and the swing, among `voters` (who voted in both polls)."""
    n = len(voters)
    pre_for = sum(1 for a in voters if pre[a] == Side.FOR)
    final_for = sum(1 for a in voters if final[a] == Side.FOR)
    return (
        percent(pre_for, n),
        percent(final_for, n),
        swing_between(pre_for=pre_for, pre_total=n, final_for=final_for, final_total=n),
    )


def result_figures(
    pre_poll: Poll | None,
    final_poll: Poll | None,
    pre: dict[int, str],
    final: dict[int, str],
    rooms: list[BreakoutRoom],
) -> Result:
    """The result figures; each rule of recaps.disclosure decides what is left out."""
    why: dict[str, str] = {}
    tallies: dict[str, PollTally] = {}
    for kind, poll, votes in (("pre", pre_poll, pre), ("final", final_poll, final)):
        if poll is not None and disclosure.poll_shown(len(votes)):
            tallies[kind] = _tally(poll, votes)
        elif poll is not None:
            why[kind] = f"{poll.get_kind_display()}: {disclosure.WITHHELD_POLL}"
    pre_tally, final_tally = tallies.get("pre"), tallies.get("final")
    if pre_poll and final_poll and not (pre_tally and final_tally):
        why["swing"] = str(disclosure.WITHHELD_SWING)
    if (pre_poll and not pre_tally) or (final_poll and not final_tally):
        why["mark"] = str(disclosure.WITHHELD_MARK)
    rows = []
    for i, side in enumerate(SIDES):
        before = pre_tally.sides[i] if pre_tally else None
        after = final_tally.sides[i] if final_tally else None
        change = None
        if before is not None and after is not None:
            change = swing_between(
                pre_for=before.count,
                pre_total=pre_tally.total,
                final_for=after.count,
                final_total=final_tally.total,
            )
        rows.append(
            ResultRow(side=side, label=str(side.label), pre=before, final=after, change=change)
        )

    verdict = None
    if final_poll is None or final_tally is not None:
        final_counts = Counter(final.values())
        verdict = verdict_for(
            for_votes=final_counts[Side.FOR],
            against_votes=final_counts[Side.AGAINST],
            undecided_votes=final_counts[Side.UNDECIDED],
        )
    else:
        why["verdict"] = str(disclosure.WITHHELD_VERDICT)

    both = set(pre) & set(final)
    transitions = room_rows = None
    pooled_names: tuple[str, ...] = ()
    if both and disclosure.transitions_shown(pre=set(pre), final=set(final)):
        transitions = _transitions(pre, final, both)
        room_rows, pooled_names = _room_swings(pre, final, both, rooms)
        if room_rows is None:
            why["rooms"] = str(disclosure.WITHHELD_ROOMS)
    elif both:
        why["transitions"] = str(disclosure.WITHHELD_TRANSITIONS)
    return Result(
        pre=pre_tally,
        final=final_tally,
        rows=tuple(rows),
        swing=rows[0].change,
        verdict=verdict,
        transitions=transitions,
        rooms=room_rows or (),
        rooms_pooled=pooled_names,
        why=why,
    )


def _transitions(pre: dict[int, str], final: dict[int, str], both: set[int]) -> Transitions:
    pairs = Counter((pre[a], final[a]) for a in both)
    pre_share, final_share, paired_swing = _for_swing(pre, final, both)
    return Transitions(
        rows=tuple(
            TransitionRow(
                side=a,
                label=str(a.label),
                cells=tuple(
                    TransitionCell(side=b, count=pairs[a, b], stayed=a == b) for b in SIDES
                ),
                total=sum(pairs[a, b] for b in SIDES),
            )
            for a in SIDES
        ),
        column_totals=tuple(
            TransitionCell(side=b, count=sum(pairs[a, b] for a in SIDES), stayed=False)
            for b in SIDES
        ),
        total=len(both),
        stayed=sum(pairs[s, s] for s in SIDES),
        changed=len(both) - sum(pairs[s, s] for s in SIDES),
        pre_for_percent=pre_share,
        final_for_percent=final_share,
        swing=paired_swing,
    )


def _room_swings(
    pre: dict[int, str], final: dict[int, str], both: set[int], rooms: list[BreakoutRoom]
) -> tuple[tuple[RoomSwing, ...] | None, tuple[str, ...]]:
    """The swing per room of the last round that had rooms, small rooms pooled.

    One round only: the rooms of two rounds overlap, and the difference of two overlapping
    rooms can be a handful of people. None when no room can be shown on its own.
    """
    if not rooms:
        return (), ()
    last = max(room.round.number for room in rooms)
    round_rooms = [room for room in rooms if room.round.number == last]
    members: dict[int, set[int]] = defaultdict(set)
    for room_id, attendee_id in RoomMember.objects.filter(room__in=round_rooms).values_list(
        "room_id", "attendee_id"
    ):
        members[room_id].add(attendee_id)
    voters = {room.pk: members[room.pk] & both for room in round_rooms}
    shown, pooled = disclosure.rooms_shown(
        voters, both=both, order=[room.pk for room in round_rooms]
    )
    pooled_names = tuple(_room_label(room, rooms) for room in round_rooms if room.pk not in shown)
    if not shown:
        return None, pooled_names
    rows = []
    for room in round_rooms:
        if room.pk in shown:
            rows.append(
                _room_swing(
                    pre, final, voters[room.pk], last, _room_label(room, rooms), members[room.pk]
                )
            )
    if pooled:
        label = str(disclosure.EVERYONE_ELSE)
        rows.append(_room_swing(pre, final, pooled, last, label, pooled, pooled=True))
    return tuple(rows), pooled_names


def _room_swing(
    pre: dict[int, str],
    final: dict[int, str],
    voters: set[int],
    round_number: int,
    label: str,
    members: set[int],
    pooled: bool = False,
) -> RoomSwing:
    pre_share, final_share, swing = _for_swing(pre, final, voters)
    return RoomSwing(
        round_number=round_number,
        room=label,
        members=len(members),
        voters=len(voters),
        pre_for_percent=pre_share,
        final_for_percent=final_share,
        swing=swing,
        pooled=pooled,
    )


def _room_label(room: BreakoutRoom, rooms: list[BreakoutRoom]) -> str:
    """The room's name, with its round when the event had more than one round."""
    if len({r.round_id for r in rooms}) == 1:
        return room.name
    return str(_("%(room)s (round %(round)s)") % {"room": room.name, "round": room.round.number})


def _themes(event: Event) -> tuple[ThemeDiscussion, ...]:
    # Hidden points were moderated away; merged ones live on in (and are counted by) their
    # target's upvotes, so only visible points reach the recap.
    points: dict[tuple[int, str], list[RecapPoint]] = defaultdict(list)
    for p in Point.objects.filter(event=event, status=PointStatus.VISIBLE).order_by(
        "-highlighted", "-upvotes", "created_at", "id"
    ):
        points[p.theme_id, p.side].append(
            RecapPoint(text=p.text, side=p.side, upvotes=p.upvotes, highlighted=p.highlighted)
        )
    return tuple(
        ThemeDiscussion(
            name=theme.name,
            for_points=tuple(points[theme.pk, Side.FOR]),
            against_points=tuple(points[theme.pk, Side.AGAINST]),
        )
        for theme in event.themes.all()
    )


def _timeline(poll: Poll) -> PollTimeline:
    """Replays the poll's vote log as the running tally, in steps of at least MIN_GROUP voters.

    Each step ends where MIN_GROUP distinct people have cast or changed a vote since the step
    before (recaps.disclosure.timeline_cuts), so no step stands for one person's vote at a
    known time. No steps when fewer than MIN_GROUP people are in the log.
    """
    log = list(
        # Set-aside voters' changes are left out, as their votes are (debates.set_aside).
        VoteLog.objects.filter(poll=poll, attendee__set_aside=False)
        .order_by("at", "pk")
        .values_list("attendee_id", "side", "previous_side", "at")
    )
    counts = dict.fromkeys(SIDES, 0)
    steps = []
    cuts = set(disclosure.timeline_cuts(attendee for attendee, *_rest in log))
    for i, (_attendee, side, previous, at) in enumerate(log):
        if previous:
            counts[previous] -= 1
        counts[side] += 1
        if i in cuts:
            steps.append(TallyStep(at=at, counts=tuple(counts[s] for s in SIDES)))
    start = poll.opened_at or (steps[0].at if steps else poll.created_at)
    end = poll.closed_at or (steps[-1].at if steps else start)
    return PollTimeline(
        label=str(poll.get_kind_display()), start=start, end=max(end, start), steps=tuple(steps)
    )


def _attendance(event: Event, polls: list[Poll], rounds: list[BreakoutRound]) -> Attendance:
    joins = tuple(
        Attendee.objects.filter(event=event, set_aside=False)
        .order_by("joined_at")
        .values_list("joined_at", flat=True)
    )
    windows = [
        Window(label=str(p.get_kind_display()), start=p.opened_at, end=p.closed_at)
        for p in polls
        if p.opened_at and p.closed_at
    ]
    windows += [
        Window(label=str(_("Breakouts")), start=r.started_at, end=r.ended_at)
        for r in rounds
        if r.started_at and r.ended_at
    ]
    start = min([event.starts_at, *joins[:1]])
    end = max([event.ends_at or event.starts_at, *joins[-1:], *(w.end for w in windows)])
    return Attendance(
        start=start,
        end=end,
        joins=joins,
        windows=tuple(sorted(windows, key=lambda w: w.start)),
    )


def _room_points(event: Event, rooms: list[BreakoutRoom]) -> tuple[tuple[RoomPoints, ...], int]:
    """Points raised per room (all but the hidden ones) and the number hidden."""
    counts: Counter = Counter()
    hidden = 0
    for room_id, side, status, n in (
        Point.objects.filter(event=event)
        .values_list("room_id", "side", "status")
        .annotate(n=Count("id"))
        .order_by()
    ):
        if status == PointStatus.HIDDEN:
            hidden += n
        else:
            counts[room_id, side] += n
    rows = [
        RoomPoints(
            room=_room_label(room, rooms),
            for_points=counts[room.pk, Side.FOR],
            against_points=counts[room.pk, Side.AGAINST],
        )
        for room in rooms
    ]
    if counts[None, Side.FOR] or counts[None, Side.AGAINST]:
        rows.append(
            RoomPoints(
                room=str(_("Whole audience")),
                for_points=counts[None, Side.FOR],
                against_points=counts[None, Side.AGAINST],
            )
        )
    return tuple(rows), hidden


# ---------------------------------------------------------------- exports


def votes_for_export(event: Event) -> list[tuple[int, str, str]]:
    """The votes of the event's polls as (voter, poll kind, side), sorted by voter.

    Only what the recap's figures already say, one row per vote: no times (a vote with its
    time is one person's vote at a known moment), no poll with fewer than MIN_GROUP voters, and
    a voter number links a person's pre-vote to their final vote only where the recap shows the
    transition table (recaps.disclosure.transitions_shown); otherwise each vote has a number of
    its own. Numbers run 1..N in a fresh random order on every call and say nothing about who
    anyone is, when they joined or their id.
    """
    polls: dict[int, str] = {}
    votes: dict[int, dict[int, str]] = defaultdict(dict)  # poll id -> attendee id -> side
    for poll_id, kind, attendee_id, side in (
        Vote.objects.filter(poll__event=event, counted=True)
        .order_by("poll__created_at", "poll_id")
        .values_list("poll_id", "poll__kind", "attendee_id", "side")
    ):
        polls[poll_id] = kind
        votes[poll_id][attendee_id] = side
    shown = [poll_id for poll_id in polls if disclosure.poll_shown(len(votes[poll_id]))]
    pre = [p for p in shown if polls[p] == PollKind.PRE_VOTE]
    final = [p for p in shown if polls[p] == PollKind.FINAL_VOTE]
    linked = set()
    if len(pre) == len(final) == 1 and disclosure.transitions_shown(
        pre=set(votes[pre[0]]), final=set(votes[final[0]])
    ):
        linked = {pre[0], final[0]}
    rows = [
        ((None if poll_id in linked else poll_id, attendee_id), polls[poll_id], side, order)
        for order, poll_id in enumerate(shown)
        for attendee_id, side in votes[poll_id].items()
    ]
    people = list({person for person, *_rest in rows})
    random.SystemRandom().shuffle(people)
    number = {person: i for i, person in enumerate(people, start=1)}
    return [
        (number[person], kind, side)
        for person, kind, side, _order in sorted(rows, key=lambda r: (number[r[0]], r[3]))
    ]


def points_for_export(event: Event) -> QuerySet[Point]:
    """All of the event's points, hidden and merged ones too (status says which); no authors."""
    return (
        Point.objects.filter(event=event)
        .select_related("theme", "room")
        .order_by("theme__position", "theme_id", "side", "-highlighted", "-upvotes", "created_at")
    )
