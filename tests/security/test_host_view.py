"""What hosts see of the rooms: a balance frozen when the round starts, never live per-room counts.

A host who moves one person between rooms and watches per-room pre-vote counts learns that
person's pre-vote; a room of one shows it outright. The console, the projector and the socket
messages hosts get must not change with anyone's vote.
"""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from debates import live
from debates.models import BreakoutRoom, PollKind, RoomMember, Vote
from debates.room_mix import FEW_VOTES, MIX_LABELS, MIXED, ONE_SIDED, TOO_SMALL
from debates.services import rounds, voting
from events.models import Side
from tests.conftest import make_attendee, make_event

pytestmark = pytest.mark.django_db

F, A, U = Side.FOR, Side.AGAINST, Side.UNDECIDED


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, dict]]:
    """Every socket message services ask debates.live to send, as (group, message)."""
    messages: list[tuple[str, dict]] = []
    monkeypatch.setattr(live, "send", lambda group, message: messages.append((group, message)))
    return messages


def _crowd(event, sides):
    people = [make_attendee(event, f"Person {i}") for i in range(len(sides))]
    poll = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    for person, side in zip(people, sides, strict=True):
        if side:
            voting.vote_cast(poll=poll, attendee=person, side=side)
    voting.poll_close(poll=poll)
    return people


def _badges(client, event) -> dict[str, str]:
    html = client.get(reverse("debates:console_panel", args=[event.slug, "rooms"])).content
    badges = dict(re.findall(r'data-mix="(\d+)">([^<]*)<', html.decode()))
    assert badges, "every room has a balance badge"
    return badges


def _rooms_panel(client, event) -> str:
    return client.get(reverse("debates:console_panel", args=[event.slug, "rooms"])).content.decode()


def test_the_balance_is_worked_out_when_the_round_starts(event):
    _crowd(event, [F] * 6 + [A] * 6 + [U] * 3)
    round_ = rounds.round_start(event=event, rooms=3, minutes=10)
    assert [room.mix_at_start for room in round_.rooms.all()] == [MIXED] * 3


def test_a_room_with_one_side_only_says_so_and_a_small_room_says_nothing(event):
    # Six FOR and one AGAINST: one room of seven is mixed; seven rooms of one show nothing.
    _crowd(event, [F] * 6 + [A])
    round_ = rounds.round_start(event=event, rooms=1, minutes=10)
    assert round_.rooms.get().mix_at_start == MIXED
    rounds.round_end(round_=round_)
    second = rounds.round_start(event=event, rooms=7, minutes=10)
    assert {room.mix_at_start for room in second.rooms.all()} == {TOO_SMALL}
    rounds.round_end(round_=second)
    attendees = event.attendees.order_by("pk")
    third = rounds.round_start(
        event=event, rooms=2, minutes=10, attendee_ids=[a.pk for a in attendees[:6]]
    )
    # Six FOR voters in two rooms of three: too small; one room of six would be one-sided.
    assert {room.mix_at_start for room in third.rooms.all()} == {TOO_SMALL}
    rounds.round_end(round_=third)
    fourth = rounds.round_start(
        event=event, rooms=1, minutes=10, attendee_ids=[a.pk for a in attendees[:6]]
    )
    assert fourth.rooms.get().mix_at_start == ONE_SIDED


def test_people_who_never_pre_voted_are_not_undecided_in_the_room_badges(client, host_user, event):
    # Nobody pre-voted: no room is "one side only" (they took no side, not the middle one).
    _crowd(event, [None] * 12)
    rounds.round_start(event=event, rooms=2, minutes=10, mode="random")
    client.force_login(host_user)
    assert set(_badges(client, event).values()) == {str(MIX_LABELS[FEW_VOTES])}
    assert "Undecided" not in _rooms_panel(client, event)


def test_a_badge_counts_only_those_who_pre_voted(event, organiser):
    # Five FOR voters and five who never voted: one-sided among those who voted.
    _crowd(event, [F] * 5 + [None] * 5)
    round_ = rounds.round_start(event=event, rooms=1, minutes=10)
    assert round_.rooms.get().mix_at_start == ONE_SIDED
    # Rooms of five where fewer than five pre-voted: too few votes to say, mixed or not.
    other = make_event(organiser, title="Quiet room")
    _crowd(other, [F, A] + [None] * 8)
    both = rounds.round_start(event=other, rooms=2, minutes=10, mode="random")
    assert {room.mix_at_start for room in both.rooms.all()} == {FEW_VOTES}


def test_the_console_shows_no_per_room_counts_of_votes(client, host_user, event):
    _crowd(event, [F] * 5 + [A] * 4 + [U] * 3)
    rounds.round_start(event=event, rooms=2, minutes=10)
    client.force_login(host_user)
    html = _rooms_panel(client, event)
    assert not re.search(r"(For|Against|Undecided)\s*\d", re.sub(r"<[^>]+>", " ", html))
    assert set(_badges(client, event).values()) == {str(MIX_LABELS[MIXED])}


def test_moving_one_person_leaves_every_badge_unchanged(client, host_user, event):
    people = _crowd(event, [F] * 6 + [A] * 6)
    round_ = rounds.round_start(event=event, rooms=2, minutes=10)
    client.force_login(host_user)
    before = _badges(client, event)
    first, second = round_.rooms.order_by("position")
    for person in people:
        room = first if person in first.members.all() else second
        other = second if room == first else first
        rounds.attendee_move(attendee=person, room=other)
        assert _badges(client, event) == before
    # Even emptying a room into the other changes nothing.
    for person in list(first.members.all()):
        rounds.attendee_move(attendee=person, room=second)
    assert _badges(client, event) == before


def test_a_room_of_one_shows_no_balance(client, host_user, event):
    people = _crowd(event, [F] * 6 + [A] * 6)
    round_ = rounds.round_start(event=event, rooms=2, minutes=10)
    first, second = round_.rooms.order_by("position")
    # The host moves everyone but one person out of the first room.
    for person in list(first.members.all())[1:]:
        rounds.attendee_move(attendee=person, room=second)
    client.force_login(host_user)
    html = _rooms_panel(client, event)
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "1 person" in text
    assert not re.search(r"(For|Against|Undecided)\s*\d", text)
    assert people  # the crowd is there
    # A round of rooms too small to hide a vote (two each, now: never one) shows no balance.
    rounds.round_end(round_=round_)
    rounds.round_start(event=event, rooms=12, minutes=10)
    assert set(_badges(client, event).values()) == {str(MIX_LABELS[TOO_SMALL])}


def test_the_rooms_panel_does_not_change_with_anyones_vote(client, host_user, event):
    people = _crowd(event, [F] * 6 + [A] * 6)
    rounds.round_start(event=event, rooms=3, minutes=10)
    client.force_login(host_user)
    before = _rooms_panel(client, event)
    # Every pre-vote rewritten: the panel (names, rooms, badges) is the same page.
    Vote.objects.filter(attendee__in=people).update(side=U)
    after = _rooms_panel(client, event)
    csrf = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')
    assert csrf.sub("", before) == csrf.sub("", after)


def test_socket_messages_about_rooms_carry_no_votes(
    event, sent, django_capture_on_commit_callbacks
):
    people = _crowd(event, [F] * 6 + [A] * 6)
    with django_capture_on_commit_callbacks(execute=True):
        round_ = rounds.round_start(event=event, rooms=2, minutes=10)
    first, second = BreakoutRoom.objects.filter(round=round_).order_by("position")
    # Three people of the first room (the deal is random: a move into one's own room says
    # nothing, and the test once picked three who were there already).
    movers = [m.attendee for m in RoomMember.objects.filter(room=first).order_by("pk")[:3]]
    assert len(movers) == 3 and set(movers) <= set(people)
    with django_capture_on_commit_callbacks(execute=True):
        for person in movers:
            rounds.attendee_move(attendee=person, room=second)
        rounds.room_update(room=first, name="Oak", location="Table 4")
    rooms = [m for _group, m in sent if m["type"].startswith(("round.", "room."))]
    assert {m["type"] for m in rooms} >= {"round.started", "room.assigned", "room.changed"}
    for message in rooms:
        text = json.dumps(message)
        # No side names, no counts per side, no balance.
        assert not re.search(r'"(for|against|undecided|sides|counts|mix[a-z_]*)"', text), text
