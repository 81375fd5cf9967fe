"""The rules that keep small groups' votes out of the recap (recaps.disclosure)."""

from __future__ import annotations

from recaps.disclosure import (
    MIN_GROUP,
    group_ok,
    poll_shown,
    rooms_shown,
    timeline_cuts,
    transitions_shown,
)


def test_a_group_is_shown_only_when_empty_or_five_or_more():
    assert MIN_GROUP == 5
    assert [n for n in range(8) if group_ok(n)] == [0, 5, 6, 7]
    assert [n for n in range(8) if poll_shown(n)] == [5, 6, 7]


def test_the_timeline_steps_each_cover_five_distinct_voters():
    # Ten people voting once each: two steps of five.
    assert timeline_cuts("abcdefghij") == [4, 9]


def test_one_person_changing_five_times_is_one_voter():
    # a changes five times before b..e vote: the first step needs all five people.
    assert timeline_cuts("aaaaabcde") == [8]


def test_a_short_remainder_joins_the_step_before():
    # Seven people: the last two are not a step of their own.
    assert timeline_cuts("abcdefg") == [6]
    assert timeline_cuts("abcdefghijkl") == [4, 11]


def test_a_poll_with_fewer_than_five_voters_has_no_timeline():
    assert timeline_cuts("abcdabcdabcd") == []
    assert timeline_cuts("") == []


def test_the_transition_table_needs_five_both_times_and_no_handful_voting_once():
    ten = set(range(10))
    assert transitions_shown(pre=ten, final=ten)
    assert not transitions_shown(pre=set(range(4)), final=set(range(4)))
    assert not transitions_shown(pre=ten | {10, 11}, final=ten)  # two pre-vote only
    assert not transitions_shown(pre=ten, final=ten | {10})  # one final vote only
    assert transitions_shown(pre=ten | set(range(10, 15)), final=ten)  # five pre-vote only


def test_a_small_room_is_pooled_and_a_small_pool_takes_the_smallest_room():
    both = set(range(12))
    # Big 10, Small 2: Small alone is too few, so Big cannot be shown either (the rest is Small).
    assert rooms_shown(
        {"Big": set(range(10)), "Small": {10, 11}}, both=both, order=["Big", "Small"]
    ) == (
        [],
        both,
    )
    # A 6, B 6, C 2, three in no room: C and the three make five, shown together.
    both = set(range(17))
    voters = {"A": set(range(6)), "B": set(range(6, 12)), "C": {12, 13}}
    assert rooms_shown(voters, both=both, order=["A", "B", "C"]) == (
        ["A", "B"],
        {12, 13, 14, 15, 16},
    )
    # A 6, B 6, three in no room: the three alone are too few, so B joins them.
    both = set(range(15))
    voters = {"A": set(range(6)), "B": set(range(6, 12))}
    assert rooms_shown(voters, both=both, order=["A", "B"]) == (["A"], set(range(6, 15)))
