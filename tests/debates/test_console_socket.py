"""Host commands over the socket, and what attendees' sockets hear of rooms, without a reload."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from debates import door, host_actions
from debates.models import Poll, PollKind, PollState, RoomMember
from debates.rehearsal_actions import REHEARSAL_COMMANDS
from debates.services import points, rounds
from events.models import Event, Phase, Side, Turn
from tests.conftest import make_attendee, make_instant_voters
from tests.debates.sockets import (
    in_thread,
    initial,
    open_socket,
    receive,
    receive_until,
    session_for,
)
from tests.debates.test_console import command_data, snapshot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def session_of_user(user) -> str:
    """A saved session of a signed-in account, as a browser gets from logging in."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def command(name: str, data: dict, ref: str = "c1") -> dict:
    return {"type": "host.command", "command": name, "ref": ref, "data": data}


async def host_socket(event: Event):
    socket = await open_socket(event.slug, await in_thread(session_for)(host_event=event))
    await initial(socket)
    return socket


async def attendee_socket(attendee):
    slug = await in_thread(lambda: Event.objects.get(pk=attendee.event_id).slug)()
    socket = await open_socket(slug, await in_thread(session_for)(attendee=attendee))
    await initial(socket)
    return socket


def answer_to(ref: str):
    return lambda m: m["type"] in {"command.done", "command.refused"} and m.get("ref") == ref


async def test_a_host_runs_a_command_over_the_socket_and_everyone_follows(live_event):
    event = live_event["event"]
    host = await host_socket(event)
    viewer = await open_socket(event.slug)  # the projector: no session
    await initial(viewer)

    await host.send_json_to(command("phase.set", {"phase": Phase.OPENING}, ref="go"))

    done = await receive_until(host, answer_to("go"))
    assert done == {"type": "command.done", "ref": "go", "command": "phase.set"}
    pushed = await receive_until(viewer, lambda m: m["type"] == "phase.changed")
    assert pushed["phase"] == Phase.OPENING
    assert (await in_thread(Event.objects.get)(pk=event.pk)).phase == Phase.OPENING
    await host.disconnect()
    await viewer.disconnect()


async def test_a_refused_command_says_why_and_keeps_the_socket(live_event):
    host = await host_socket(live_event["event"])
    await host.send_json_to(
        command("round.message", {"round": live_event["round"].pk, "text": " "}, ref="m")
    )
    refused = await receive_until(host, answer_to("m"))
    assert refused["type"] == "command.refused"
    assert refused["reason"] == str(rounds.ROUND_MESSAGE_EMPTY)
    await host.send_json_to({"type": "ping"})
    assert (await receive_until(host, lambda m: m["type"] == "pong")) == {"type": "pong"}
    await host.disconnect()


@pytest.mark.parametrize("who", ["attendee", "anonymous", "stranger"])
async def test_every_command_from_a_non_host_socket_is_closed_4403(live_event, stranger_user, who):
    names = sorted(host_actions.HOST_ACTIONS)
    before = await in_thread(snapshot)(live_event)
    for name in names:
        data = await in_thread(command_data)(name, live_event)
        if who == "attendee":
            key = await in_thread(session_for)(attendee=live_event["people"][0])
        elif who == "stranger":
            key = await in_thread(session_of_user)(stranger_user)
        else:
            key = None
        socket = await open_socket(live_event["event"].slug, key)
        await initial(socket)
        await socket.send_json_to(command(name, data))
        closed = await socket.receive_output(timeout=3)
        assert closed == {"type": "websocket.close", "code": 4403}, name
    assert await in_thread(snapshot)(live_event) == before


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "host.command", "command": "event.delete", "ref": "x", "data": {}},
        {"type": "host.command", "command": "phase.set", "ref": "x", "data": ["phase"]},
        {"type": "host.command", "command": 7, "ref": "x", "data": {}},
        {"type": "host.command", "command": "phase.set", "ref": "x" * 65, "data": {}},
    ],
)
async def test_malformed_host_commands_close_4400(live_event, frame):
    host = await host_socket(live_event["event"])
    await host.send_json_to(frame)
    assert await host.receive_output(timeout=3) == {"type": "websocket.close", "code": 4400}


async def test_a_new_host_link_ends_host_rights_on_an_open_socket(live_event):
    event = live_event["event"]
    host = await host_socket(event)

    def rotate():
        from events.services import host_key_rotate

        host_key_rotate(event=Event.objects.get(pk=event.pk))

    await in_thread(rotate)()
    await host.send_json_to(command("phase.set", {"phase": Phase.ENDED}))
    output = await host.receive_output(timeout=3)
    if output.get("text"):  # told first (host.revoked, tests/debates/live/test_hosts.py)
        assert json.loads(output["text"])["type"] == "host.revoked"
        output = await host.receive_output(timeout=3)
    assert output == {"type": "websocket.close", "code": 4403}
    assert (await in_thread(Event.objects.get)(pk=event.pk)).phase == Phase.BREAKOUTS


async def test_timer_message_and_bring_everyone_back_reach_attendees_without_a_reload(
    live_event,
):
    """Must show 3: the attendee's open socket hears each one as it happens."""
    event, round_ = live_event["event"], live_event["round"]
    attendee = live_event["people"][0]
    phone = await attendee_socket(attendee)
    host = await host_socket(event)

    await host.send_json_to(command("round.extend", {"round": round_.pk, "minutes": 5}, "t"))
    timer = await receive_until(phone, lambda m: m["type"] == "timer.changed")
    assert datetime.fromisoformat(timer["ends_at"]) == round_.ends_at + timedelta(minutes=5)

    await host.send_json_to(
        command("round.message", {"round": round_.pk, "text": "Two minutes left"}, "m")
    )
    message = await receive_until(phone, lambda m: m["type"] == "message.broadcast")
    assert message["text"] == "Two minutes left" and message["round"] == round_.pk

    await host.send_json_to(command("round.end", {"round": round_.pk}, "e"))
    ended = await receive_until(phone, lambda m: m["type"] == "round.ended")
    assert ended["round"] == round_.pk and ended["phase"] == Phase.PLENARY
    state = await receive_until(phone, lambda m: m["type"] == "phase.changed")
    assert state["phase"] == Phase.PLENARY
    # The phone asks which room it is in now: none, the rooms are closed.
    await phone.send_json_to({"type": "room.sync"})
    assert (await receive_until(phone, lambda m: m["type"] == "room.synced"))["room"] is None
    await phone.disconnect()
    await host.disconnect()


async def test_a_new_round_tells_each_attendee_their_room(live_event):
    event = live_event["event"]
    await in_thread(rounds.round_end)(round_=live_event["round"])
    attendee = live_event["people"][0]
    phone = await attendee_socket(attendee)
    host = await host_socket(event)
    data = {"split": "rooms", "count": 3, "mode": "random", "minutes": 7}

    await host.send_json_to(command("round.start", data, "s"))

    started = await receive_until(phone, lambda m: m["type"] == "round.started")
    room_id = started["assignments"][str(attendee.pk)]
    assert len(started["rooms"]) == 3
    await phone.send_json_to({"type": "room.sync"})
    assert (await receive_until(phone, lambda m: m["type"] == "room.synced"))["room"] == room_id
    await phone.disconnect()
    await host.disconnect()


async def test_a_rooms_board_updates_live_for_that_room_only(live_event):
    first, second = live_event["rooms"]
    in_first = await in_thread(
        lambda: first.members.exclude(pk=live_event["people"][0].pk).first()
    )()
    in_second = await in_thread(lambda: second.members.first())()
    theme = await in_thread(lambda: live_event["event"].themes.first())()
    mine, theirs = await attendee_socket(in_first), await attendee_socket(in_second)

    await in_thread(points.point_add)(
        room=first, attendee=in_first, theme=theme, side=Side.AGAINST, text="Only for Oak"
    )

    added = await receive_until(mine, lambda m: m["type"] == "point.added")
    assert added["text"] == "Only for Oak" and added["room"] == first.pk
    # The other room's phone hears nothing of it (a ping's pong comes first and alone).
    await theirs.send_json_to({"type": "ping"})
    assert (await receive(theirs))["type"] == "pong"
    assert await theirs.receive_nothing(timeout=0.3)
    await mine.disconnect()
    await theirs.disconnect()


async def test_a_moved_attendee_follows_their_new_room(live_event):
    first, _ = live_event["rooms"]
    mover = live_event["mover"]  # in the second room
    phone = await attendee_socket(mover)
    host = await host_socket(live_event["event"])

    await host.send_json_to(command("attendee.move", {"attendee": mover.pk, "room": first.pk}))
    assigned = await receive_until(phone, lambda m: m["type"] == "room.assigned")
    assert assigned["attendee"] == mover.pk and assigned["room"]["id"] == first.pk
    await phone.send_json_to({"type": "room.sync"})
    assert (await receive_until(phone, lambda m: m["type"] == "room.synced"))["room"] == first.pk

    author = await in_thread(lambda: first.members.exclude(pk=mover.pk).first())()
    theme = await in_thread(lambda: live_event["event"].themes.first())()
    await in_thread(points.point_add)(
        room=first, attendee=author, theme=theme, side=Side.FOR, text="Welcome"
    )
    assert (await receive_until(phone, lambda m: m["type"] == "point.added"))["text"] == "Welcome"
    await phone.disconnect()
    await host.disconnect()


async def test_a_late_joiner_who_connects_is_placed_and_hears_their_room(live_event):
    event = live_event["event"]
    late = await in_thread(make_attendee)(event, "Late")
    phone = await attendee_socket(late)
    membership = await in_thread(
        lambda: RoomMember.objects.select_related("room").get(attendee=late)
    )()
    mate = await in_thread(lambda: membership.room.members.exclude(pk=late.pk).first())()
    theme = await in_thread(lambda: event.themes.first())()
    await in_thread(points.point_add)(
        room=membership.room, attendee=mate, theme=theme, side=Side.FOR, text="Hi late"
    )
    assert (await receive_until(phone, lambda m: m["type"] == "point.added"))["text"] == "Hi late"
    await phone.disconnect()


def stage_ready(event: Event) -> None:
    Turn.objects.create(event=event, label="Opening FOR", side=Side.FOR, seconds=60)
    Poll.objects.create(event=event, kind=PollKind.FINAL_VOTE, state=PollState.CLOSED)


# A whole evening, in an order where each command has something to act on.
EVENING = [
    "clock.next",
    "clock.start",
    "clock.add",
    "clock.pause",
    "reveal.show",
    "reveal.hide",
    "overlay.rotate",
    "votes.set_aside",
    "votes.set_aside_undo",
    "phase.set",
    "poll.visibility",
    "poll.close",
    "poll.open",
    "point.highlight",
    "point.unhighlight",
    "point.hide",
    "point.unhide",
    "point.merge",
    "point.unmerge",
    "point.edit",
    "room.update",
    "attendee.move",
    "round.message",
    "round.extend",
    "round.timer",
    "round.end",
    "round.start",
    "takeaway.add",
    "takeaway.edit",
    "takeaway.move",
    "takeaway.reorder",
    "takeaway.delete",
    "questions.settings",
    "question.hide",
    "question.approve",
    "question.pin",
    "question.unpin",
    "question.answer",
    "question.unanswer",
    "question.merge",
    "question.unmerge",
]


async def test_a_host_runs_every_command_over_the_socket(live_event):
    # A rehearsal needs a draft event: tests/debates/test_rehearsal_console.py runs those.
    assert sorted(EVENING) == sorted(set(host_actions.HOST_ACTIONS) - REHEARSAL_COMMANDS)
    # A script got in before the evening started: something for the door panel to set aside.
    await in_thread(make_instant_voters)(live_event["poll"], door.INSTANT_FLAG)
    # A running order for the clock, and a closed final vote to reveal (reopened later on).
    await in_thread(stage_ready)(live_event["event"])
    host = await host_socket(live_event["event"])
    for n, name in enumerate(EVENING):
        before = await in_thread(snapshot)(live_event)
        data = await in_thread(command_data)(name, live_event)
        await host.send_json_to(command(name, data, ref=f"r{n}"))
        answer = await receive_until(host, answer_to(f"r{n}"))
        assert answer["type"] == "command.done", (name, answer)
        assert await in_thread(snapshot)(live_event) != before, name
    await host.disconnect()


async def test_presence_counts_attendees_connected_now_not_hosts_or_screens(live_event):
    from debates import live

    event = live_event["event"]
    first, second = live_event["people"][:2]
    phones = [
        await attendee_socket(first),
        await attendee_socket(first),
        await attendee_socket(second),
    ]
    host, projector = await host_socket(event), await open_socket(event.slug)
    await initial(projector)
    assert live.attendees_connected(event.pk) == 2  # two people, one with two tabs
    for socket in phones:
        await socket.disconnect()
    assert live.attendees_connected(event.pk) == 0
    await host.disconnect()
    await projector.disconnect()
