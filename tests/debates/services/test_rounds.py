"""Breakout rounds: mixing rooms by pre-vote side, late joiners, moves, timer, message, end."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from debates import live
from debates.models import AssignmentMode, BreakoutRoom, Poll, PollKind, PollState, RoomMember, Vote
from debates.room_mix import NOT_VOTED
from debates.services import rounds
from events.models import EventFormat, Phase, Side
from tests.conftest import make_attendee, make_event

pytestmark = pytest.mark.django_db


def crowd(event, **per_side: int) -> dict[int, str]:
    """Attendees who voted in the pre-vote: crowd(event, for_=18, against=17, undecided=5).

    Undecided attendees are split between those who voted "undecided" and those who never
    voted (NOT_VOTED: no side at all, dealt evenly as a group of its own).
    """
    poll, _ = Poll.objects.get_or_create(event=event, kind=PollKind.PRE_VOTE, state=PollState.OPEN)
    sides: dict[int, str] = {}
    votes = []
    for key, n in per_side.items():
        side = Side(key.rstrip("_"))
        for i in range(n):
            attendee = make_attendee(event, f"{side}-{i}")
            sides[attendee.pk] = side
            if side != Side.UNDECIDED or i % 2:
                votes.append(Vote(poll=poll, attendee=attendee, side=side))
            else:
                sides[attendee.pk] = NOT_VOTED
    Vote.objects.bulk_create(votes)
    return sides


def side_counts(round_, sides) -> dict[int, Counter]:
    counts = {room.pk: Counter() for room in round_.rooms.all()}
    for member in RoomMember.objects.filter(round=round_):
        counts[member.room_id][sides[member.attendee_id]] += 1
    return counts


def room_sizes(round_) -> dict[int, int]:
    sizes = dict.fromkeys(round_.rooms.values_list("pk", flat=True), 0)
    for room_id in RoomMember.objects.filter(round=round_).values_list("room_id", flat=True):
        sizes[room_id] += 1
    return sizes


def assert_within_one_of_ideal_share(counts: dict[int, Counter], sides: dict[int, str]) -> None:
    rooms = len(counts)
    totals = Counter(sides.values())
    for side in [*Side.values, NOT_VOTED]:
        ideal = totals[side] / rooms
        for room_counts in counts.values():
            assert abs(room_counts[side] - ideal) < 1, (side, room_counts, ideal)
    sizes = [sum(c.values()) for c in counts.values()]
    assert max(sizes) - min(sizes) <= 1


def test_forty_attendees_mix_evenly_into_four_rooms(event):
    sides = crowd(event, for_=18, against=17, undecided=5)
    round_ = rounds.round_start(event=event, rooms=4, minutes=15, rng=random.Random(7))

    counts = side_counts(round_, sides)
    assert_within_one_of_ideal_share(counts, sides)
    assert sorted(sum(c.values()) for c in counts.values()) == [10, 10, 10, 10]
    # Every room holds both sides of the argument.
    assert all(c[Side.FOR] >= 4 and c[Side.AGAINST] >= 4 for c in counts.values())
    assert RoomMember.objects.filter(round=round_).count() == 40


def test_late_joiners_go_to_the_smallest_room(event):
    sides = crowd(event, for_=18, against=17, undecided=5)
    round_ = rounds.round_start(event=event, rooms=4, minutes=15)
    rooms = list(round_.rooms.all())
    # Someone leaves room 3 for room 1: room 3 is now the smallest (9).
    leaver = RoomMember.objects.filter(room=rooms[2]).first().attendee
    rounds.attendee_move(attendee=leaver, room=rooms[0])

    late = make_attendee(event, "Late Lou")
    assert rounds.room_place_late_joiner(attendee=late) == rooms[2]
    later = make_attendee(event, "Later Lee")
    placed = rounds.room_place_late_joiner(attendee=later)
    # Rooms were 11, 10, 10, 10: the next one goes to one of the tens, never room 1.
    assert placed in rooms[1:]
    sizes = Counter(RoomMember.objects.filter(round=round_).values_list("room_id", flat=True))
    assert sizes[rooms[0].pk] == 11 and max(sizes.values()) - min(sizes.values()) <= 1
    # Placing someone twice keeps them where they are.
    assert rounds.room_place_late_joiner(attendee=late) == rooms[2]
    assert sides  # the crowd is there


def test_a_late_joiner_prefers_the_small_room_with_fewest_of_their_side(event):
    sides = crowd(event, for_=3, against=1)
    round_ = rounds.round_start(event=event, rooms=2, minutes=10)
    # Two rooms of two: one holds both sides, the other two FOR.
    [(mixed, _)] = [
        (room, c) for room, c in side_counts(round_, sides).items() if c[Side.AGAINST] == 1
    ]
    poll = Poll.objects.get(event=event, kind=PollKind.PRE_VOTE)
    late = make_attendee(event, "Late For")
    Vote.objects.create(poll=poll, attendee=late, side=Side.FOR)

    assert rounds.room_place_late_joiner(attendee=late).pk == mixed


def test_no_late_placement_outside_a_round_or_when_attendees_choose(event, attendee):
    assert rounds.room_place_late_joiner(attendee=attendee) is None
    rounds.round_start(event=event, rooms=2, minutes=10, mode=AssignmentMode.CHOICE)
    late = make_attendee(event, "Chooser")
    assert rounds.room_place_late_joiner(attendee=late) is None


def test_an_arrival_is_placed_once_and_then_finds_their_room_without_a_write(
    event, attendee, django_assert_max_num_queries
):
    assert rounds.room_arrive(attendee=attendee) is None  # no round running: nowhere to go
    crowd(event, for_=2, against=2)
    round_ = rounds.round_start(event=event, rooms=2, minutes=10)
    late = make_attendee(event, "Late Lou")

    placed = rounds.room_arrive(attendee=late)

    assert placed is not None and placed.round_id == round_.pk
    assert RoomMember.objects.get(attendee=late).room == placed
    with django_assert_max_num_queries(2):  # the running round, their room: nothing locked
        assert rounds.room_arrive(attendee=late) == placed
    assert RoomMember.objects.filter(attendee=late).count() == 1


def test_an_arrival_in_a_round_where_attendees_choose_is_not_placed(event, attendee):
    rounds.round_start(event=event, rooms=2, minutes=10, mode=AssignmentMode.CHOICE)
    assert rounds.room_arrive(attendee=attendee) is None
    assert not RoomMember.objects.filter(attendee=attendee).exists()


@settings(max_examples=150, deadline=None)
@given(
    for_=st.integers(0, 60),
    against=st.integers(0, 60),
    undecided=st.integers(0, 30),
    room_count=st.integers(1, 16),
    seed=st.integers(0, 2**32),
)
def test_balanced_dealing_stays_within_one_of_the_ideal_share(
    for_, against, undecided, room_count, seed
):
    sides = {}
    for side, n in ((Side.FOR, for_), (Side.AGAINST, against), (Side.UNDECIDED, undecided)):
        for _ in range(n):
            sides[len(sides) + 1] = side.value
    rooms = rounds.rooms_deal_balanced(sides=sides, room_count=room_count, rng=random.Random(seed))

    assert len(rooms) == room_count
    assert sorted(a for room in rooms for a in room) == sorted(sides)  # everyone, once
    counts = {i: Counter(sides[a] for a in room) for i, room in enumerate(rooms)}
    assert_within_one_of_ideal_share(counts, sides)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    for_=st.integers(0, 9),
    against=st.integers(0, 9),
    undecided=st.integers(0, 4),
    room_count=st.integers(1, 5),
    late=st.integers(1, 6),
)
def test_rounds_and_late_joiners_keep_the_bound_over_random_sizes(
    organiser, for_, against, undecided, room_count, late
):
    event = make_event(organiser, title="Property")
    sides = crowd(event, for_=for_, against=against, undecided=undecided)
    round_ = rounds.round_start(event=event, rooms=room_count, minutes=5)
    assert_within_one_of_ideal_share(side_counts(round_, sides), sides)

    for i in range(late):
        before = room_sizes(round_)
        placed = rounds.room_place_late_joiner(attendee=make_attendee(event, f"late-{i}"))
        assert before[placed.pk] == min(before.values())
    sizes = room_sizes(round_)
    assert sum(sizes.values()) == for_ + against + undecided + late
    assert max(sizes.values()) - min(sizes.values()) <= 1


def test_rooms_of_size_k_make_as_few_rooms_as_hold_everyone(event):
    sides = crowd(event, for_=18, against=17, undecided=5)
    round_ = rounds.round_start(event=event, size=6, minutes=15)

    counts = side_counts(round_, sides)
    assert len(counts) == 7
    assert max(sum(c.values()) for c in counts.values()) <= 6
    assert_within_one_of_ideal_share(counts, sides)


def test_random_assignment_places_everyone_in_even_rooms(event):
    crowd(event, for_=10, against=3)
    round_ = rounds.round_start(
        event=event, rooms=3, minutes=5, mode=AssignmentMode.RANDOM, rng=random.Random(1)
    )
    sizes = Counter(RoomMember.objects.filter(round=round_).values_list("room_id", flat=True))
    assert sorted(sizes.values()) == [4, 4, 5]


def test_only_attendees_present_are_assigned(event):
    sides = crowd(event, for_=4, against=4)
    present = list(sides)[:6]
    round_ = rounds.round_start(event=event, rooms=2, minutes=5, attendee_ids=present)
    assert set(
        RoomMember.objects.filter(round=round_).values_list("attendee_id", flat=True)
    ) == set(present)


def test_in_a_choice_round_attendees_pick_rooms_up_to_capacity(event):
    people = [make_attendee(event, name) for name in "ABCD"]
    round_ = rounds.round_start(event=event, rooms=2, minutes=5, mode=AssignmentMode.CHOICE)
    first, second = round_.rooms.all()
    assert not RoomMember.objects.filter(round=round_).exists()

    rounds.room_choose(attendee=people[0], room=first)
    rounds.room_choose(attendee=people[1], room=first)
    with pytest.raises(ValidationError) as refused:
        rounds.room_choose(attendee=people[2], room=first)
    assert refused.value.messages == [rounds.ROOM_FULL]

    # Switching rooms frees the place.
    rounds.room_choose(attendee=people[1], room=second)
    rounds.room_choose(attendee=people[2], room=first)
    assert set(first.members.all()) == {people[0], people[2]}


def test_attendees_cannot_choose_when_the_host_assigns(event, attendee):
    round_ = rounds.round_start(event=event, rooms=2, minutes=5)
    with pytest.raises(ValidationError) as refused:
        rounds.room_choose(attendee=attendee, room=round_.rooms.first())
    assert refused.value.messages == [rounds.ROOMS_ASSIGNED_BY_HOST]


def test_starting_a_round_moves_to_breakouts_and_tells_everyone(
    event, sent, django_capture_on_commit_callbacks
):
    sides = crowd(event, for_=3, against=3)
    with django_capture_on_commit_callbacks(execute=True):
        round_ = rounds.round_start(event=event, rooms=2, minutes=12, names=["Oak", "Elm"])

    event.refresh_from_db()
    assert event.phase == Phase.BREAKOUTS
    assert [r.name for r in round_.rooms.all()] == ["Oak", "Elm"]
    assert round_.ends_at - round_.started_at == timedelta(minutes=12)
    [(group, message)] = sent.of_type("round.started")
    assert group == live.event_group(event.pk)
    assert {int(a) for a in message["assignments"]} == set(sides)
    assert {r["name"] for r in message["rooms"]} == {"Oak", "Elm"}
    assert sent.of_type("event.changed")


def test_nothing_is_announced_when_a_round_fails_to_start(
    event, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        rounds.round_start(event=event, rooms=2, minutes=12, names=["Same", "Same"])
    assert sent == []
    assert not event.breakout_rounds.exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rooms": 2, "size": 5}, rounds.ROOMS_OR_SIZE),
        ({}, rounds.ROOMS_OR_SIZE),
        ({"rooms": 0}, rounds.ROOM_COUNT_RANGE),
        ({"rooms": 51}, rounds.ROOM_COUNT_RANGE),
        ({"size": 1}, rounds.ROOM_SIZE_RANGE),
        ({"rooms": 2, "minutes": 0}, rounds.ROUND_MINUTES_RANGE),
        ({"rooms": 2, "mode": "alphabetical"}, rounds.ASSIGNMENT_UNKNOWN),
        ({"rooms": 2, "names": ["A" * 61]}, rounds.ROOM_NAMES_INVALID),
        ({"rooms": 2, "video_urls": ["javascript:alert(1)"]}, rounds.ROOM_LINK_INVALID),
        ({"rooms": 1, "locations": ["x" * 101]}, rounds.ROOM_LOCATION_TOO_LONG),
    ],
)
def test_round_start_refuses_bad_settings(event, kwargs, message):
    with pytest.raises(ValidationError) as refused:
        rounds.round_start(event=event, **({"minutes": 10} | kwargs))
    assert refused.value.messages == [message]


def test_only_one_round_runs_at_a_time(event):
    rounds.round_start(event=event, rooms=2, minutes=10)
    with pytest.raises(ValidationError) as refused:
        rounds.round_start(event=event, rooms=3, minutes=10)
    assert refused.value.messages == [rounds.ROUND_ALREADY_RUNNING]


def test_a_second_round_gets_the_next_number(event):
    first = rounds.round_start(event=event, rooms=2, minutes=10)
    rounds.round_end(round_=first)
    second = rounds.round_start(event=event, rooms=2, minutes=10)
    assert (first.number, second.number) == (1, 2)


def test_online_rooms_get_call_links_from_the_pattern(organiser):
    event = make_event(
        organiser,
        title="Remote roadmaps",
        format=EventFormat.ONLINE,
        video_url="https://meet.example.org/main",
        room_video_pattern="https://meet.jit.si/pb-{event}-{room}",
    )
    round_ = rounds.round_start(
        event=event,
        rooms=2,
        minutes=10,
        names=["Blue Whale", "Red Fox"],
        video_urls=["", "https://zoom.example.com/j/123"],
    )
    blue, red = round_.rooms.all()
    key = rounds.room_link_event(event)
    assert blue.video_url == f"https://meet.jit.si/pb-{key}-blue-whale"
    assert len(key) == 8 and event.slug not in blue.video_url  # {event}: short, not the slug
    assert red.video_url == "https://zoom.example.com/j/123"  # entered per room wins


def test_venue_rooms_get_tables_and_no_call_link(event):
    event.room_video_pattern = "https://meet.jit.si/{room}"
    event.save()
    round_ = rounds.round_start(event=event, rooms=2, minutes=10, locations=["Table 1", "Bar"])
    assert [(r.location, r.video_url) for r in round_.rooms.all()] == [
        ("Table 1", ""),
        ("Bar", ""),
    ]


def test_the_host_edits_a_room(event):
    round_ = rounds.round_start(event=event, rooms=2, minutes=10)
    first, second = round_.rooms.all()
    rounds.room_update(
        room=first, name="Window", video_url="https://meet.jit.si/x", location="By the window"
    )
    first.refresh_from_db()
    assert (first.name, first.video_url, first.location) == (
        "Window",
        "https://meet.jit.si/x",
        "By the window",
    )
    with pytest.raises(ValidationError) as refused:
        rounds.room_update(room=second, name="Window")
    assert refused.value.messages == [rounds.ROOM_NAMES_INVALID]


def test_the_host_moves_an_attendee_and_both_rooms_hear(
    event, sent, django_capture_on_commit_callbacks
):
    crowd(event, for_=2, against=2)
    round_ = rounds.round_start(event=event, rooms=2, minutes=10)
    first, second = round_.rooms.all()
    mover = first.members.first()

    with django_capture_on_commit_callbacks(execute=True):
        rounds.attendee_move(attendee=mover, room=second)

    assert RoomMember.objects.get(round=round_, attendee=mover).room == second
    [(group, message)] = sent.of_type("room.assigned")
    assert (group, message["attendee"], message["room"]["id"]) == (
        live.event_group(event.pk),
        mover.pk,
        second.pk,
    )
    changed = {g for g, m in sent.of_type("room.changed")}
    assert {live.room_group(first.pk), live.room_group(second.pk)} <= changed


def test_moves_are_refused_across_events_and_after_the_round(event, other_event, attendee):
    round_ = rounds.round_start(event=event, rooms=2, minutes=10)
    room = round_.rooms.first()
    with pytest.raises(ValidationError) as refused:
        rounds.attendee_move(attendee=make_attendee(other_event), room=room)
    assert refused.value.messages == [rounds.ATTENDEE_NOT_IN_EVENT]
    rounds.round_end(round_=round_)
    with pytest.raises(ValidationError) as refused:
        rounds.attendee_move(attendee=attendee, room=room)
    assert refused.value.messages == [rounds.ROUND_NOT_RUNNING]


def test_a_message_goes_to_every_room(event, sent, django_capture_on_commit_callbacks):
    round_ = rounds.round_start(event=event, rooms=3, minutes=10)
    with django_capture_on_commit_callbacks(execute=True):
        rounds.round_message(round_=round_, text="  Five minutes left:\n pick your best point ")

    round_.refresh_from_db()
    assert round_.message == "Five minutes left: pick your best point"
    [(group, message)] = sent.of_type("message.broadcast")
    assert group == live.event_group(event.pk)
    assert message["text"] == "Five minutes left: pick your best point"


@pytest.mark.parametrize(
    ("text", "reason"),
    [(" \n ", rounds.ROUND_MESSAGE_EMPTY), ("x" * 281, rounds.ROUND_MESSAGE_TOO_LONG)],
)
def test_empty_or_long_messages_are_refused(event, text, reason):
    round_ = rounds.round_start(event=event, rooms=1, minutes=10)
    with pytest.raises(ValidationError) as refused:
        rounds.round_message(round_=round_, text=text)
    assert refused.value.messages == [reason]


def test_the_host_extends_and_resets_the_countdown(event, sent, django_capture_on_commit_callbacks):
    round_ = rounds.round_start(event=event, rooms=1, minutes=10)
    due = round_.ends_at
    with django_capture_on_commit_callbacks(execute=True):
        rounds.round_extend(round_=round_, minutes=5)
    round_.refresh_from_db()
    assert round_.ends_at == due + timedelta(minutes=5)
    [(_, message)] = sent.of_type("timer.changed")
    assert message["ends_at"] == round_.ends_at.isoformat()

    rounds.round_timer_set(round_=round_, minutes=2)
    round_.refresh_from_db()
    assert abs((round_.ends_at - timezone.now()) - timedelta(minutes=2)) < timedelta(seconds=5)

    rounds.round_extend(round_=round_, minutes=-30)  # never before now
    round_.refresh_from_db()
    assert round_.ends_at >= round_.started_at
    with pytest.raises(ValidationError) as refused:
        rounds.round_extend(round_=round_, minutes=0)
    assert refused.value.messages == [rounds.EXTEND_MINUTES_RANGE]


def test_bring_everyone_back_ends_the_round_and_opens_the_plenary(
    event, sent, django_capture_on_commit_callbacks
):
    round_ = rounds.round_start(event=event, rooms=2, minutes=10)
    with django_capture_on_commit_callbacks(execute=True):
        rounds.round_end(round_=round_)

    round_.refresh_from_db()
    event.refresh_from_db()
    assert round_.ended_at is not None and not round_.is_running
    assert event.phase == Phase.PLENARY
    [(group, message)] = sent.of_type("round.ended")
    assert group == live.event_group(event.pk) and message["phase"] == Phase.PLENARY
    with pytest.raises(ValidationError) as refused:
        rounds.round_end(round_=round_)
    assert refused.value.messages == [rounds.ROUND_NOT_RUNNING]
    # Rooms and memberships stay for the recap.
    assert BreakoutRoom.objects.filter(round=round_).count() == 2
