"""The authorization matrix: every role against every action, over HTTP and over the socket.

Roles: the organiser, a co-organiser (on the event's team, issue 17), the event's host, its
moderator (both speakers linked to their accounts), an attendee of this event, an attendee of
another event, an anonymous visitor.

Each cell is one test. An allowed cell shows the action working (the rows it should change did,
and a broadcast went out for a write). A denied cell shows a 403/404 (HTTP) or close code 4403
(socket), with every row of the database unchanged, no broadcast asked of debates.live and,
over the socket, nothing arriving at other sockets of the event (the projector and a host).

Actions that exist over HTTP only (adding a point, the summary, exports, the recap preview, the
subscriber list) have no socket frame: their socket cells show that asking for one anyway is
refused (4403 for anyone who is not a host, 4400 "no such command" for hosts) and changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any
from unittest import mock

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.urls import reverse
from django.utils import timezone

from debates import door, live
from debates.models import (
    Point,
    PointStatus,
    Poll,
    PollKind,
    PollState,
    Rehearsal,
    ResultsVisibility,
    SetAside,
    TurnRun,
    Vote,
)
from debates.models_audience import Question
from debates.selectors import HOST_SESSION_KEY
from debates.services import questions, set_aside
from events import team
from events.models import (
    Attendee,
    Event,
    Invitation,
    Mailing,
    Membership,
    Phase,
    Side,
    TeamRole,
    Turn,
)
from productbreaks.asgi import application
from tests.conftest import make_instant_voters
from tests.security.conftest import (
    HOSTS,
    ROLES,
    World,
    client_for,
    db_state,
    prepare_announcement,
    prepare_rehearsals,
    session_key_for,
)

# ---------------------------------------------------------------- the matrix

ACTIONS = (
    "see_console",
    "change_phase",
    "open_poll",
    "close_poll",
    "vote",
    "add_point",
    "moderate_point",
    "manage_rooms",
    "set_aside_votes",
    "undo_set_aside",
    "run_clock",
    "reveal",
    "read_summary",
    "export",
    "read_unpublished_recap",
    "export_subscribers",
    "rehearse",
    "ask_question",
    "moderate_question",
    "read_own_page",
    "rotate_overlay",
    "duplicate_event",
    "archive_event",
    "delete_event",
    "manage_team",
    "remove_member",
    "publish_recap",
    "announce_event",
    "read_outbox",
)

ORGANISERS = frozenset({"organiser", "co_organiser"})
ALLOWED_HTTP: dict[str, frozenset[str]] = {
    "see_console": HOSTS,
    "change_phase": HOSTS,
    "open_poll": HOSTS,
    "close_poll": HOSTS,
    "vote": frozenset({"attendee"}),
    "add_point": frozenset({"attendee"}),
    "moderate_point": HOSTS,
    "manage_rooms": HOSTS,
    "set_aside_votes": HOSTS,
    "undo_set_aside": HOSTS,
    "run_clock": HOSTS,
    "reveal": HOSTS,
    "read_summary": HOSTS,
    "export": HOSTS,
    "read_unpublished_recap": HOSTS,
    # Subscribers are the organisers' list: hosts who organise nothing may not take it.
    "export_subscribers": frozenset({"organiser"}),
    "rehearse": HOSTS,
    "ask_question": frozenset({"attendee"}),
    "moderate_question": HOSTS,
    # The attendee's own page (issue 17): how they voted is theirs alone, hosts included.
    "read_own_page": frozenset({"attendee"}),
    "rotate_overlay": HOSTS,
    # The organiser's list (issue 17): the event itself is its organisers', not its hosts';
    # deleting it, which nobody can undo, is for the organiser who made it.
    "duplicate_event": ORGANISERS,
    "archive_event": frozenset({"organiser"}),
    "delete_event": frozenset({"organiser"}),
    # Publishing is the event's organisers' (its email to subscribers follows by itself).
    "publish_recap": ORGANISERS,
    # The team (issue 17): its organisers invite, withdraw invitations and take people off.
    "manage_team": ORGANISERS,
    "remove_member": ORGANISERS,
    # Email (issue 17): the list and the outbox are the organiser's, not the hosts'.
    "announce_event": frozenset({"organiser"}),
    "read_outbox": frozenset({"organiser"}),
}
# The unpublished recap does not exist for outsiders (404), everything else is forbidden (403).
DENIED_HTTP = {"read_unpublished_recap": 404}

# Socket frames; None: the action has no frame (HTTP only). "see_console" is the connect itself.
SOCKET_FRAMES: dict[str, Callable[[World], dict[str, Any]] | None] = {
    "change_phase": lambda w: _command("phase.set", phase=Phase.PLENARY),
    "open_poll": lambda w: _command(
        "poll.open", kind=PollKind.FINAL_VOTE, results_visibility=ResultsVisibility.LIVE
    ),
    "close_poll": lambda w: _command("poll.close", poll=w.poll.pk),
    "vote": lambda w: {"type": "vote.cast", "poll": w.poll.pk, "side": "against", "ref": "v1"},
    "moderate_point": lambda w: _command("point.hide", point=w.point.pk),
    "manage_rooms": lambda w: _command("room.update", room=w.room.pk, name="Elm"),
    "set_aside_votes": lambda w: _command("votes.set_aside", group=w.prepared["group"]),
    "undo_set_aside": lambda w: _command("votes.set_aside_undo", set_aside=w.prepared["set_aside"]),
    "rehearse": lambda w: _command("rehearsal.stop"),
    "run_clock": lambda w: _command("clock.start"),
    "reveal": lambda w: _command("reveal.show"),
    "ask_question": lambda w: {"type": "question.ask", "text": "Over the socket?", "ref": "q1"},
    "moderate_question": lambda w: _command("question.pin", question=w.prepared["question"]),
    "rotate_overlay": lambda w: _command("overlay.rotate"),
}
ALLOWED_SOCKET: dict[str, frozenset[str]] = {
    "see_console": HOSTS,
    "change_phase": HOSTS,
    "open_poll": HOSTS,
    "close_poll": HOSTS,
    "vote": frozenset({"attendee"}),
    "moderate_point": HOSTS,
    "manage_rooms": HOSTS,
    "set_aside_votes": HOSTS,
    "undo_set_aside": HOSTS,
    "rehearse": HOSTS,
    "run_clock": HOSTS,
    "reveal": HOSTS,
    "ask_question": frozenset({"attendee"}),
    "moderate_question": HOSTS,
    "rotate_overlay": HOSTS,
}
# What asking for an HTTP-only action over the socket looks like.
HTTP_ONLY_FRAMES = {
    "add_point": {"type": "point.add", "theme": 1, "side": "for", "text": "Over the socket"},
    "read_summary": {"type": "host.command", "command": "summary.read", "ref": "x", "data": {}},
    "export": {"type": "host.command", "command": "export.markdown", "ref": "x", "data": {}},
    "read_unpublished_recap": {
        "type": "host.command",
        "command": "recap.read",
        "ref": "x",
        "data": {},
    },
    "export_subscribers": {
        "type": "host.command",
        "command": "subscribers.export",
        "ref": "x",
        "data": {},
    },
    "announce_event": {"type": "host.command", "command": "mail.announce", "ref": "x", "data": {}},
    "read_outbox": {"type": "host.command", "command": "outbox.read", "ref": "x", "data": {}},
}


def _command(command: str, **data: Any) -> dict[str, Any]:
    return {"type": "host.command", "command": command, "ref": f"c-{command}", "data": data}


def _prepare(action: str, w: World) -> None:
    """State an action needs to act on, made before the "nothing changed" snapshot: a script
    of instant voters to set aside, or one set aside already to undo."""
    w.prepared = {}
    if action == "rehearse":
        prepare_rehearsals(w)
        return
    if action == "manage_team":  # an invitation to withdraw
        w.prepared["invitation"] = team.invitation_send(
            event=w.event, email="old@example.org", role=TeamRole.HOST, invited_by=None
        ).pk
        return
    if action == "publish_recap":  # an event over, its recap ready to publish
        Event.objects.filter(pk=w.event.pk).update(phase=Phase.ENDED)
        return
    if action == "remove_member":  # someone to take off the team
        leaver = get_user_model().objects.create_user("leaver")
        member = Membership.objects.create(event=w.event, user=leaver, role=TeamRole.MODERATOR)
        w.prepared["member"] = member.pk
        return
    if action == "announce_event":  # an upcoming event of the organiser's, and a confirmed reader
        prepare_announcement(w)
        return
    if action == "run_clock":  # a running order to run (no broadcast: it is the event's plan)
        Turn.objects.create(event=w.event, label="Opening FOR", side=Side.FOR, seconds=60)
    if action == "reveal":  # a closed final vote to reveal
        Poll.objects.create(event=w.event, kind=PollKind.FINAL_VOTE, state=PollState.CLOSED)
    if action not in {"set_aside_votes", "undo_set_aside", "moderate_question"}:
        return
    # Silently: the sockets under test must hear only what the action itself sends.
    with ExitStack() as quiet:
        for name in ("send", "tally_changed", "event_changed", "changed"):
            quiet.enter_context(mock.patch.object(live, name, lambda *args: None))
        if action == "moderate_question":
            question = questions.question_ask(event=w.event, attendee=w.attendee, text="Pin?")
            w.prepared["question"] = question.pk
            return
        make_instant_voters(w.poll, door.INSTANT_FLAG, side=Side.AGAINST)
        w.prepared["group"] = door.group_key(door.INSTANT, door.EVERY_NETWORK, timezone.now())
        if action == "undo_set_aside":
            actor = set_aside.Actor(user_id=None, label="host link")
            record = set_aside.set_aside(event=w.event, key=w.prepared["group"], actor=actor)
            w.prepared["set_aside"] = record.pk


def _cells(allowed: dict[str, frozenset[str]], actions) -> list:
    return [
        pytest.param(role, action, role in allowed.get(action, ()), id=f"{role}-{action}")
        for action in actions
        for role in ROLES
    ]


# ---------------------------------------------------------------- HTTP


def _console(w: World, name: str) -> str:
    return reverse("debates:console_command", args=[w.event.slug, name])


def _http(action: str, client, w: World) -> list:
    slug = w.event.slug
    if action == "see_console":
        return [
            client.get(reverse("debates:console", args=[slug])),
            client.get(reverse("debates:console_panel", args=[slug, "polls"])),
        ]
    if action == "change_phase":
        return [client.post(_console(w, "phase.set"), {"phase": Phase.PLENARY})]
    if action == "open_poll":
        data = {"kind": PollKind.FINAL_VOTE, "results_visibility": ResultsVisibility.LIVE}
        return [client.post(reverse("debates:poll_open", args=[slug]), data)]
    if action == "close_poll":
        return [client.post(reverse("debates:poll_close", args=[slug, w.poll.pk]))]
    if action == "vote":
        return [client.post(reverse("debates:vote", args=[slug, w.poll.pk]), {"side": "against"})]
    if action == "add_point":
        data = {"theme": w.event.themes.first().pk, "side": Side.AGAINST, "text": "Second point"}
        return [client.post(reverse("debates:room_point_add", args=[slug]), data)]
    if action == "moderate_point":
        return [
            client.post(_console(w, "point.highlight"), {"point": w.point.pk}),
            client.post(_console(w, "point.edit"), {"point": w.point.pk, "text": "Reworded"}),
            client.post(_console(w, "point.hide"), {"point": w.point.pk}),
        ]
    if action == "manage_rooms":
        return [
            client.post(_console(w, "room.update"), {"room": w.room.pk, "name": "Elm"}),
            client.post(_console(w, "round.message"), {"round": w.round.pk, "text": "Two min"}),
            client.post(_console(w, "round.end"), {"round": w.round.pk}),
        ]
    if action == "set_aside_votes":
        return [client.post(_console(w, "votes.set_aside"), {"group": w.prepared["group"]})]
    if action == "undo_set_aside":
        data = {"set_aside": w.prepared["set_aside"]}
        return [client.post(_console(w, "votes.set_aside_undo"), data)]
    if action == "run_clock":
        return [
            client.post(_console(w, "clock.start")),
            client.post(_console(w, "clock.add"), {"seconds": "30"}),
            client.post(_console(w, "clock.pause")),
        ]
    if action == "reveal":
        return [client.post(_console(w, "reveal.show"))]
    if action == "read_summary":
        return [client.get(reverse("recaps:summary", args=[slug]))]
    if action == "export":
        return [
            client.get(reverse(name, args=[slug]))
            for name in ("recaps:export_markdown", "recaps:export_votes", "recaps:export_points")
        ]
    if action == "read_unpublished_recap":
        return [client.get(reverse("recaps:recap", args=[slug]))]
    if action == "export_subscribers":
        return [client.get(reverse("events:subscribers_csv"))]
    if action == "rehearse":
        draft = w.prepared["draft"]
        return [
            client.post(_console_of(draft, "rehearsal.start"), {"people": 3, "minutes": 5}),
            client.post(_console_of(draft, "rehearsal.stop")),
            client.post(_console_of(draft, "rehearsal.reset")),
        ]
    if action == "ask_question":
        url = reverse("debates:question_ask", args=[slug])
        return [client.post(url, {"text": "Over HTTP?"})]
    if action == "moderate_question":
        return [client.post(_console(w, "question.pin"), {"question": w.prepared["question"]})]
    if action == "read_own_page":
        return [client.get(reverse("debates:my_page", args=[slug]))]
    if action == "rotate_overlay":
        return [client.post(_console(w, "overlay.rotate"))]
    if action in {"duplicate_event", "archive_event"}:
        name = {"duplicate_event": "event_duplicate", "archive_event": "event_archive"}[action]
        return [client.post(reverse(f"events:{name}", args=[slug]))]
    if action == "delete_event":
        url = reverse("events:event_delete", args=[slug])
        return [client.post(url, {"title": w.event.title})]
    if action == "manage_team":
        return [
            client.get(reverse("events:team", args=[slug])),
            client.post(
                reverse("events:team", args=[slug]), {"email": "new@example.org", "role": "host"}
            ),
            client.post(
                reverse("events:team_invitation_withdraw", args=[slug]),
                {"invitation": w.prepared["invitation"]},
            ),
        ]
    if action == "publish_recap":
        return [client.post(reverse("recaps:recap_publish", args=[slug]), {"publish": "1"})]
    if action == "remove_member":
        url = reverse("events:team_member_remove", args=[slug])
        return [client.post(url, {"member": w.prepared["member"]})]
    if action == "announce_event":
        return [client.post(reverse("events:event_announce", args=[w.prepared["upcoming"].slug]))]
    if action == "read_outbox":
        return [client.get(reverse("events:event_outbox", args=[slug]))]
    raise AssertionError(action)


def _console_of(event: Event, name: str) -> str:
    return reverse("debates:console_command", args=[event.slug, name])


def _http_effect_shown(action: str, responses: list, w: World) -> None:
    """What an allowed action visibly did."""
    if action in {
        "see_console",
        "read_summary",
        "read_unpublished_recap",
        "read_own_page",
        "read_outbox",
    }:
        assert all(r.status_code == 200 for r in responses)
        assert w.event.title in responses[0].content.decode()
        return
    if action == "export":
        assert [r.status_code for r in responses] == [200, 200, 200]
        assert all(r["Content-Disposition"].startswith("attachment") for r in responses)
        return
    if action == "export_subscribers":
        assert responses[0].status_code == 200
        assert "reader@example.org" in responses[0].content.decode()
        return
    if action == "manage_team":
        assert [r.status_code for r in responses] == [200, 302, 302]
        assert "old@example.org" in responses[0].content.decode()
        assert Invitation.objects.get(email="new@example.org").is_open
        assert not Invitation.objects.get(pk=w.prepared["invitation"]).is_open
        return
    assert all(r.status_code == 302 for r in responses), [r.status_code for r in responses]
    if action == "remove_member":
        assert not Membership.objects.filter(pk=w.prepared["member"]).exists()
        return
    if action == "publish_recap":
        assert Event.objects.get(pk=w.event.pk).recap_published
        # Its email is queued (to nobody here: the one subscriber has not confirmed).
        assert Mailing.objects.get(event=w.event, kind="recap").emails.count() == 0
        return
    if action == "delete_event":
        assert not Event.objects.filter(pk=w.event.pk).exists()
        assert not Attendee.objects.filter(pk=w.attendee.pk).exists()
        return
    if action == "duplicate_event":
        assert Event.objects.filter(title=f"{w.event.title} (copy)").exists()
        return
    if action == "announce_event":
        mailing = Mailing.objects.get(event=w.prepared["upcoming"])
        assert list(mailing.emails.values_list("to", flat=True)) == ["reader@example.org"]
        return
    event = Event.objects.get(pk=w.event.pk)
    if action == "change_phase":
        assert event.phase == Phase.PLENARY
    elif action == "open_poll":
        assert Poll.objects.get(event=event, kind=PollKind.FINAL_VOTE).state == PollState.OPEN
    elif action == "close_poll":
        assert Poll.objects.get(pk=w.poll.pk).state == PollState.CLOSED
    elif action == "vote":
        assert Vote.objects.get(poll=w.poll, attendee=w.attendee).side == Side.AGAINST
    elif action == "add_point":
        assert Point.objects.filter(event=event, text="Second point").exists()
    elif action == "moderate_point":
        point = Point.objects.get(pk=w.point.pk)
        assert (point.text, point.status) == ("Reworded", PointStatus.HIDDEN)
    elif action == "set_aside_votes":
        assert Attendee.objects.filter(event=event, set_aside=True).count() >= door.INSTANT_FLAG
        assert SetAside.objects.get(event=event).created_by_label != ""
    elif action == "undo_set_aside":
        assert SetAside.objects.get(pk=w.prepared["set_aside"]).undone_at is not None
        assert not Attendee.objects.filter(event=event, set_aside=True).exists()
    elif action == "rehearse":
        run = Rehearsal.objects.get(event=w.prepared["draft"])
        assert run.stopped_at and run.reset_at and not w.prepared["draft"].attendees.exists()
    elif action == "run_clock":
        run = TurnRun.objects.get(event=event)
        assert run.started_at is not None and run.added_seconds == 30 and not run.running_since
    elif action == "reveal":
        assert Poll.objects.get(event=event, kind=PollKind.FINAL_VOTE).revealed_at is not None
    elif action == "ask_question":
        assert Question.objects.filter(event=event, text="Over HTTP?").exists()
    elif action == "moderate_question":
        assert Question.objects.get(pk=w.prepared["question"]).pinned
    elif action == "rotate_overlay":
        assert event.overlay_generation == 1
    elif action == "archive_event":
        assert event.archived_at is not None
    elif action == "manage_rooms":
        w.room.refresh_from_db()
        w.round.refresh_from_db()
        assert w.room.name == "Elm" and not w.round.is_running


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "action", "allowed"), _cells(ALLOWED_HTTP, ACTIONS))
def test_http(role, action, allowed, world, live_calls, django_capture_on_commit_callbacks):
    client = client_for(role, world)
    _prepare(action, world)
    before = db_state()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        responses = _http(action, client, world)
    if allowed:
        _http_effect_shown(action, responses, world)
        if action in ALLOWED_SOCKET and action != "see_console":  # the writes
            assert live_calls, "a change nobody hears of"
        return
    expected = DENIED_HTTP.get(action, 403)
    assert [r.status_code for r in responses] == [expected] * len(responses)
    assert db_state() == before
    assert callbacks == []
    assert live_calls == []


# ---------------------------------------------------------------- the socket


async def _connect(session_key: str | None, slug: str) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if session_key:
        headers.append((b"cookie", f"sessionid={session_key}".encode()))
    socket = WebsocketCommunicator(application, f"/ws/e/{slug}/", headers=headers)
    connected, _ = await socket.connect(timeout=5)
    assert connected
    return socket


async def _initial(socket: WebsocketCommunicator) -> dict[str, list[dict[str, Any]]]:
    by_type: dict[str, list[dict[str, Any]]] = {}
    while True:
        message = json.loads(await socket.receive_from(timeout=5))
        by_type.setdefault(message["type"], []).append(message)
        if message["type"] == "you.synced":
            return by_type


async def _answer(socket: WebsocketCommunicator) -> dict[str, Any]:
    """The actor's reply: a JSON message, or {"close": code}. Broadcasts it hears are skipped."""
    while True:
        output = await socket.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            return {"close": output.get("code")}
        message = json.loads(output["text"])
        if message["type"] in {"command.done", "command.refused"} or message["type"].startswith(
            ("vote.", "question.")
        ):
            return message


def _host_link_session(event: Event) -> str:
    session = SessionStore()
    session[HOST_SESSION_KEY] = {str(event.pk): event.host_key}
    session.create()
    return session.session_key


def _socket_effect(action: str, w: World) -> bool:
    event = Event.objects.get(pk=w.event.pk)
    return {
        "change_phase": lambda: event.phase == Phase.PLENARY,
        "open_poll": lambda: Poll.objects.filter(event=event, kind=PollKind.FINAL_VOTE).exists(),
        "close_poll": lambda: Poll.objects.get(pk=w.poll.pk).state == PollState.CLOSED,
        "vote": lambda: Vote.objects.get(poll=w.poll, attendee=w.attendee).side == Side.AGAINST,
        "moderate_point": lambda: Point.objects.get(pk=w.point.pk).status == PointStatus.HIDDEN,
        "manage_rooms": lambda: type(w.room).objects.get(pk=w.room.pk).name == "Elm",
        "set_aside_votes": lambda: Attendee.objects.filter(event=event, set_aside=True).exists(),
        "undo_set_aside": lambda: (
            SetAside.objects.get(pk=w.prepared["set_aside"]).undone_at is not None
        ),
        "rehearse": lambda: Rehearsal.objects.get(event=event).stopped_at is not None,
        "run_clock": lambda: TurnRun.objects.filter(
            event=event, running_since__isnull=False
        ).exists(),
        "reveal": lambda: (
            Poll.objects.get(event=event, kind=PollKind.FINAL_VOTE).revealed_at is not None
        ),
        "ask_question": lambda: Question.objects.filter(text="Over the socket?").exists(),
        "moderate_question": lambda: Question.objects.get(pk=w.prepared["question"]).pinned,
        "rotate_overlay": lambda: event.overlay_generation == 1,
    }[action]()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("role", "action", "allowed"), _cells(ALLOWED_SOCKET, [*SOCKET_FRAMES, *HTTP_ONLY_FRAMES])
)
async def test_socket(role, action, allowed, world, live_calls):
    slug = world.event.slug
    state = database_sync_to_async(db_state)
    projector = await _connect(None, slug)
    host = await _connect(await database_sync_to_async(_host_link_session)(world.event), slug)
    await _initial(projector)
    await _initial(host)
    actor = await _connect(await database_sync_to_async(session_key_for)(role, world), slug)
    await _initial(actor)
    await database_sync_to_async(_prepare)(action, world)
    before = await state()

    build = SOCKET_FRAMES.get(action)
    frame = build(world) if build else HTTP_ONLY_FRAMES[action]
    await actor.send_to(text_data=json.dumps(frame))
    answer = await _answer(actor)

    if allowed:
        assert answer["type"] in {"command.done", "vote.acknowledged", "question.acknowledged"}, (
            answer
        )
        assert await database_sync_to_async(_socket_effect)(action, world)
        assert live_calls, "a change nobody hears of"
        # The host's console hears of every change an allowed action makes.
        assert json.loads(await host.receive_from(timeout=5))
    else:
        if build is None and role in HOSTS:
            expected = live.CLOSE_BAD_MESSAGE  # hosts asking for a command that does not exist
        elif build is None and frame["type"] == "point.add":
            expected = live.CLOSE_BAD_MESSAGE  # no such frame for anyone
        else:
            expected = live.CLOSE_FORBIDDEN
        assert answer == {"close": expected}
        assert await state() == before
        assert live_calls == []
        assert await projector.receive_nothing(timeout=0.1)
        assert await host.receive_nothing(timeout=0.05)
    for socket in (projector, host, actor):
        await socket.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("role", "action", "allowed"), _cells(ALLOWED_SOCKET, ["see_console"]))
async def test_socket_see_console(role, action, allowed, world):
    """The console's view over the socket: while results are hidden from the audience, only
    hosts get the counts and the turnout, and only hosts are told they are hosts."""

    def hide_results() -> None:
        Poll.objects.filter(pk=world.poll.pk).update(
            results_visibility=ResultsVisibility.AFTER_CLOSE
        )

    await database_sync_to_async(hide_results)()
    socket = await _connect(
        await database_sync_to_async(session_key_for)(role, world), world.event.slug
    )
    got = await _initial(socket)
    [tally] = got["tally.updated"]
    [you] = got["you.synced"]
    assert tally["total"] == 1  # everyone may know how many have voted
    if allowed:
        assert you["host"] is True
        assert tally["counts"] == {"for": 1, "against": 0, "undecided": 0}
        assert "attendees" in tally
    else:
        assert you["host"] is False
        assert "counts" not in tally and "percent" not in tally and "attendees" not in tally
        assert tally["visible"] is False
    assert you["attendee"] is (role == "attendee")
    await socket.disconnect()
