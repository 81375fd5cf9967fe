"""The debate's reads (debates.selectors, debates.door), called directly: what they return, and
that none of them writes (no insert, update, delete or row lock), whatever state they find."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from debates import door, selectors
from debates.models import PollKind, RoomMember
from debates.room_mix import NOT_VOTED
from debates.selectors import ATTENDEE_SESSION_KEY
from debates.services import rounds, voting
from events.models import Side
from tests.conftest import make_attendee

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE", "FOR UPDATE")


def writes(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"] for q in queries.captured_queries if any(w in q["sql"].upper() for w in WRITES)
    ]


def test_an_attendee_is_found_by_their_session_for_their_event_only(event, other_event, attendee):
    session = {ATTENDEE_SESSION_KEY: {str(event.pk): attendee.token}}
    assert selectors.attendee_for_session(event=event, session=session) == attendee
    assert selectors.attendee_for_session(event=other_event, session=session) is None
    assert selectors.attendee_for_session(event=event, session={}) is None
    assert selectors.attendee_for_session(event=event, session=None) is None
    forged = {ATTENDEE_SESSION_KEY: {str(event.pk): "not-a-token"}}
    assert selectors.attendee_for_session(event=event, session=forged) is None


def test_votes_of_gives_the_attendees_side_per_poll(event, attendee):
    poll = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    assert selectors.votes_of(attendee_id=attendee.pk) == {}
    voting.vote_cast(poll=poll, attendee=attendee, side=Side.AGAINST)
    assert selectors.votes_of(attendee_id=attendee.pk) == {poll.pk: Side.AGAINST}


def test_pre_vote_sides_give_someone_who_never_voted_no_side_not_undecided(event, attendee):
    poll = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    voter = make_attendee(event, "Voter")
    undecided = make_attendee(event, "Unsure")
    voting.vote_cast(poll=poll, attendee=voter, side=Side.FOR)
    voting.vote_cast(poll=poll, attendee=undecided, side=Side.UNDECIDED)
    sides = selectors.pre_vote_sides(event_id=event.pk)
    assert sides == {attendee.pk: NOT_VOTED, voter.pk: Side.FOR, undecided.pk: Side.UNDECIDED}
    assert NOT_VOTED not in Side.values
    assert selectors.pre_vote_sides(event_id=event.pk, attendee_ids=[voter.pk]) == {
        voter.pk: Side.FOR
    }


def test_the_running_round_and_an_attendees_room_are_found_and_an_ended_round_is_not(event):
    people = [make_attendee(event, f"P{i}") for i in range(4)]
    assert selectors.round_running(event_id=event.pk) is None
    round_ = rounds.round_start(event=event, rooms=2, minutes=10)
    assert selectors.round_running(event_id=event.pk) == round_
    membership = RoomMember.objects.get(attendee=people[0])
    assert selectors.room_of(attendee_id=people[0].pk, round_id=round_.pk) == membership.room
    views = selectors.rooms_with_members(round_id=round_.pk)
    assert sorted(v.size for v in views) == [2, 2]
    rounds.round_end(round_=round_)
    assert selectors.round_running(event_id=event.pk) is None
    assert selectors.round_latest(event_id=event.pk) == round_


def test_a_late_joiner_is_not_placed_by_reading_their_room(event):
    for i in range(4):
        make_attendee(event, f"P{i}")
    round_ = rounds.round_start(event=event, rooms=2, minutes=10)
    late = make_attendee(event, "Late")
    assert selectors.room_of(attendee_id=late.pk, round_id=round_.pk) is None
    ids = [a.pk for a in selectors.attendees_without_room(event_id=event.pk, round_id=round_.pk)]
    assert ids == [late.pk]
    assert not RoomMember.objects.filter(attendee=late).exists()


def test_no_selector_writes_or_locks_anything(event, attendee, live_event):
    session = {ATTENDEE_SESSION_KEY: {str(event.pk): attendee.token}}
    round_, (room, _) = live_event["round"], live_event["rooms"]
    late = make_attendee(event, "Late")  # someone a write-happy read would place
    with CaptureQueriesContext(connection) as queries:
        selectors.attendee_for_session(event=event, session=session)
        selectors.votes_of(attendee_id=attendee.pk)
        selectors.poll_snapshots(event_id=event.pk)
        selectors.poll_snapshot(poll_id=live_event["poll"].pk)
        selectors.event_polls(event_id=event.pk)
        selectors.pre_vote_sides(event_id=event.pk)
        selectors.round_running(event_id=event.pk)
        selectors.round_latest(event_id=event.pk)
        selectors.room_of(attendee_id=late.pk, round_id=round_.pk)
        selectors.rooms_with_members(round_id=round_.pk)
        list(selectors.room_points(room_id=room.pk))
        selectors.upvoted_point_ids(attendee_id=attendee.pk, point_ids=[live_event["point"].pk])
        selectors.plenary_points(event_id=event.pk, include_hidden=True)
        list(selectors.highlighted_points(event_id=event.pk))
        list(selectors.takeaways(event_id=event.pk))
        selectors.rehearsal_current(event_id=event.pk)
        selectors.event_is_draft(event=event)
        selectors.attendees_joined(event_id=event.pk)
        selectors.room_members(room_id=room.pk)
        list(selectors.attendees_without_room(event_id=event.pk, round_id=round_.pk))
        selectors.can_host(event=event, user=None, session=session)
        door.door_view(event_id=event.pk)
        door.group_for_key(event_id=event.pk, key="no-such-key")
        door.set_aside_log(event_id=event.pk)
    assert queries.captured_queries  # the reads did read
    assert writes(queries) == []
    assert not RoomMember.objects.filter(attendee=late).exists()


def test_the_door_panel_flags_nothing_for_an_ordinary_evening(event, attendee):
    view = door.door_view(event_id=event.pk)
    assert sum(m.joins for m in view.minutes) == 1  # the one attendee who joined
    assert not view.instant_flagged and not any(row.flagged for row in view.networks)
    assert door.group_for_key(event_id=event.pk, key="no-such-key") is None
