"""How many rooms a round deals people into, and who goes where: no room of one, ever; the
console's suggestion of about eight a room; rooms mixed by side only when people pre-voted."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from debates.models import AssignmentMode, Poll, PollKind, PollState, RoomMember, Vote
from debates.room_mix import NOT_VOTED
from debates.services import dealing, rounds
from events.models import Side
from tests.conftest import make_attendee, make_event

pytestmark = pytest.mark.django_db

SIDES = [Side.FOR, Side.AGAINST, Side.UNDECIDED, NOT_VOTED]


def asked_rooms(people: int, split: tuple[str, int]) -> int:
    """What the host asks for, as round_start reads it: N rooms, or rooms of at most K."""
    how, n = split
    return n if how == "rooms" else max(1, math.ceil(people / n))


@settings(max_examples=400, deadline=None)
@given(
    people=st.integers(0, 400),
    split=st.one_of(
        st.tuples(st.just("rooms"), st.integers(1, dealing.MAX_ROOMS)),
        st.tuples(st.just("size"), st.integers(dealing.MIN_ROOM_SIZE, 50)),
    ),
    balanced=st.booleans(),
    seed=st.integers(0, 2**32),
)
def test_no_dealt_room_is_ever_smaller_than_two_whoever_comes_and_whatever_is_asked(
    people, split, balanced, seed
):
    rng = random.Random(seed)
    asked = asked_rooms(people, split)
    count = dealing.room_count(people=people, rooms=asked)
    ids = list(range(1, people + 1))
    if balanced:
        sides = {attendee: rng.choice(SIDES) for attendee in ids}
        rooms = dealing.rooms_deal_balanced(sides=sides, room_count=count, rng=rng)
    else:
        rooms = dealing.rooms_deal_random(attendee_ids=ids, room_count=count, rng=rng)

    assert sorted(a for room in rooms for a in room) == ids  # everyone, once
    assert 1 <= len(rooms) == count <= asked
    if people >= dealing.MIN_ROOM_SIZE:
        assert min(len(room) for room in rooms) >= dealing.MIN_ROOM_SIZE
    elif people == 1:
        assert len(rooms) == 1
    else:
        assert count == asked  # nobody there yet: the rooms open empty for those who come
    # Never fewer rooms than needed: one more would leave a room short.
    assert count == asked or people // (count + 1) < dealing.MIN_ROOM_SIZE


@pytest.mark.parametrize(("people", "size"), [(5, 2), (3, 2), (7, 3), (9, 4)])
def test_random_rooms_of_a_size_leave_nobody_alone(event, people, size):
    # The first run: five people in rooms of two made a room of one.
    for i in range(people):
        make_attendee(event, f"P{i}")
    round_ = rounds.round_start(
        event=event, size=size, minutes=5, mode=AssignmentMode.RANDOM, rng=random.Random(3)
    )
    sizes = Counter(RoomMember.objects.filter(round=round_).values_list("room_id", flat=True))
    assert sum(sizes.values()) == people
    assert set(sizes) == set(round_.rooms.values_list("pk", flat=True))  # no empty room
    assert min(sizes.values()) >= 2


def test_more_rooms_than_pairs_open_only_as_many_as_the_people_fill(event):
    for i in range(5):
        make_attendee(event, f"P{i}")
    round_ = rounds.round_start(event=event, rooms=4, minutes=5, names=["Oak", "Elm", "Ash", "Yew"])
    assert list(round_.rooms.values_list("name", flat=True)) == ["Oak", "Elm"]
    sizes = Counter(RoomMember.objects.filter(round=round_).values_list("room_id", flat=True))
    assert sorted(sizes.values()) == [2, 3]


def test_rooms_people_choose_all_open_however_few_are_here(event, attendee):
    round_ = rounds.round_start(event=event, rooms=4, minutes=5, mode=AssignmentMode.CHOICE)
    assert round_.rooms.count() == 4


@pytest.mark.parametrize(
    ("people", "rooms"), [(0, 1), (1, 1), (3, 1), (11, 1), (12, 2), (40, 5), (400, 50), (900, 50)]
)
def test_the_suggestion_aims_at_about_eight_a_room(people, rooms):
    assert dealing.rooms_suggested(people=people) == rooms


@given(people=st.integers(4, 400))
def test_suggested_rooms_hold_between_four_and_twelve(people):
    assert 4 <= people / dealing.rooms_suggested(people=people) <= 12


def _pre_vote(event, *, voters: int, others: int) -> None:
    poll = Poll.objects.create(event=event, kind=PollKind.PRE_VOTE, state=PollState.OPEN)
    for i in range(voters + others):
        person = make_attendee(event, f"P{i}")
        if i < voters:
            Vote.objects.create(poll=poll, attendee=person, side=[Side.FOR, Side.AGAINST][i % 2])


def test_rooms_mixed_by_side_with_almost_no_pre_votes_are_filled_at_random(event):
    _pre_vote(event, voters=2, others=38)
    round_ = rounds.round_start(event=event, rooms=5, minutes=10, rng=random.Random(2))
    assert (round_.assignment, round_.mixed_at_random) == (AssignmentMode.RANDOM, True)
    assert RoomMember.objects.filter(round=round_).count() == 40


def test_rooms_mixed_by_side_with_enough_pre_votes_are_mixed(organiser):
    event = make_event(organiser)
    _pre_vote(event, voters=10, others=30)  # a quarter pre-voted
    round_ = rounds.round_start(event=event, rooms=5, minutes=10)
    assert (round_.assignment, round_.mixed_at_random) == (AssignmentMode.BALANCED, False)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(people=st.integers(0, 13), size=st.integers(2, 6), seed=st.integers(0, 99))
def test_a_started_random_round_never_leaves_anyone_alone(organiser, people, size, seed):
    event = make_event(organiser, title="Alone?")
    for i in range(people):
        make_attendee(event, f"P{i}")
    round_ = rounds.round_start(
        event=event, size=size, minutes=5, mode=AssignmentMode.RANDOM, rng=random.Random(seed)
    )
    sizes = Counter(RoomMember.objects.filter(round=round_).values_list("room_id", flat=True))
    assert sum(sizes.values()) == people
    if people >= 2:
        assert round_.rooms.count() == len(sizes) and min(sizes.values()) >= 2
