"""Questions and reactions over the socket: question.ask, question.upvote, reaction.tap, the
questions.updated / questions.synced / reactions.updated snapshots, and the hosts' moderation
through host.command, with the deny cases next to each."""

from __future__ import annotations

import json

import pytest

from debates import live, reaction_tally
from debates.live import hub
from debates.models_audience import Question, QuestionStatus, ReactionCount
from debates.services import questions
from events.models import Event
from tests.conftest import make_attendee
from tests.debates.sockets import in_thread, initial, open_socket, receive_until, session_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def socket_of(event: Event, *, attendee=None, host=False):
    key = None
    if attendee is not None or host:
        key = await in_thread(session_for)(attendee=attendee, host_event=event if host else None)
    socket = await open_socket(event.slug, key)
    first = await initial(socket)
    return socket, first


def of_type(kind: str, ref: str | None = None):
    return lambda m: m["type"] == kind and (ref is None or m.get("ref") == ref)


def answer(ref: str):
    return lambda m: m["type"] in {"question.acknowledged", "question.refused"} and m["ref"] == ref


async def closed_with(socket) -> int | None:
    output = await socket.receive_output(timeout=3)
    while output["type"] != "websocket.close":
        output = await socket.receive_output(timeout=3)
    return output.get("code")


async def test_every_socket_gets_the_board_and_the_meter_on_connect(event, attendee):
    await in_thread(questions.question_ask)(event=event, attendee=attendee, text="Why?", name="")
    socket, first = await socket_of(event, attendee=attendee)
    [board] = first["questions.updated"]
    assert [q["text"] for q in board["questions"]] == ["Why?"]
    assert first["questions.synced"] == [
        {"type": "questions.synced", "upvoted": [], "asked": [board["questions"][0]["id"]]}
    ]
    assert first["reactions.updated"][0]["totals"] == {"agree": 0, "unconvinced": 0, "unclear": 0}
    await socket.disconnect()


async def test_an_asked_question_is_acknowledged_and_reaches_the_projector_without_its_author(
    event, attendee
):
    phone, _ = await socket_of(event, attendee=attendee)
    projector, _ = await socket_of(event)
    await phone.send_json_to(
        {"type": "question.ask", "text": "Is a week too long?", "name": "", "ref": "a1"}
    )
    ack = await receive_until(phone, answer("a1"))
    assert ack["type"] == "question.acknowledged" and ack["status"] == QuestionStatus.VISIBLE

    board = await receive_until(projector, of_type("questions.updated"))
    [entry] = board["questions"]
    assert entry["text"] == "Is a week too long?" and entry["name"] == ""
    # Nothing in the message can point at who asked: no attendee id, no display name.
    assert "Ada" not in json.dumps(board) and "author" not in entry and "status" not in entry
    for socket in (phone, projector):
        await socket.disconnect()


async def test_a_refused_question_is_answered_with_the_reason(event, attendee):
    phone, _ = await socket_of(event, attendee=attendee)
    await phone.send_json_to({"type": "question.ask", "text": "x" * 300, "ref": "a2"})
    refused = await receive_until(phone, answer("a2"))
    assert refused == {
        "type": "question.refused",
        "ref": "a2",
        "reason": str(questions.QUESTION_TOO_LONG),
    }
    await phone.disconnect()


async def test_the_projector_and_a_socket_without_a_session_cannot_ask_or_tap(event):
    for frame in (
        {"type": "question.ask", "text": "Sneaky?", "ref": "x"},
        {"type": "question.upvote", "question": 1, "ref": "x"},
        {"type": "reaction.tap", "reaction": "agree"},
    ):
        socket, _ = await socket_of(event)
        await socket.send_json_to(frame)
        assert await closed_with(socket) == live.CLOSE_FORBIDDEN
    assert await in_thread(lambda: Question.objects.count())() == 0


async def test_an_attendee_of_another_event_cannot_ask_here(event, other_event):
    otto = await in_thread(make_attendee)(other_event, "Otto")
    slug = event.slug
    socket = await open_socket(slug, await in_thread(session_for)(attendee=otto))
    await initial(socket)
    await socket.send_json_to({"type": "question.ask", "text": "Mine?", "ref": "o1"})
    assert await closed_with(socket) == live.CLOSE_FORBIDDEN


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "question.ask", "ref": "m"},
        {"type": "question.ask", "text": 5, "ref": "m"},
        {"type": "question.ask", "text": "Why?", "name": ["Ada"], "ref": "m"},
        {"type": "question.ask", "text": "Why?", "ref": "r" * 65},
        {"type": "question.upvote", "question": "7", "ref": "m"},
        {"type": "question.upvote", "question": 7, "up": "yes", "ref": "m"},
        {"type": "reaction.tap", "reaction": "boo"},
        {"type": "reaction.tap"},
    ],
)
async def test_a_malformed_audience_frame_closes_with_4400(event, attendee, frame):
    socket, _ = await socket_of(event, attendee=attendee)
    await socket.send_json_to(frame)
    assert await closed_with(socket) == live.CLOSE_BAD_MESSAGE


async def test_an_upvote_is_acknowledged_and_the_board_shows_it(event, attendee):
    question = await in_thread(questions.question_ask)(event=event, attendee=attendee, text="Q?")
    bo = await in_thread(make_attendee)(event, "Bo")
    phone, _ = await socket_of(event, attendee=bo)
    await phone.send_json_to({"type": "question.upvote", "question": question.pk, "ref": "u1"})
    ack = await receive_until(phone, answer("u1"))
    assert ack["type"] == "question.acknowledged" and ack["upvoted"] is True
    board = await receive_until(
        phone, lambda m: m["type"] == "questions.updated" and m["questions"][0]["upvotes"] == 1
    )
    assert board["questions"][0]["id"] == question.pk
    await phone.disconnect()
    # On reconnect the attendee is told which questions they upvoted.
    _again, first = await socket_of(event, attendee=bo)
    assert first["questions.synced"][0]["upvoted"] == [question.pk]
    await _again.disconnect()


async def test_an_upvote_of_another_events_question_is_refused(event, other_event, attendee):
    otto = await in_thread(make_attendee)(other_event, "Otto")
    elsewhere = await in_thread(questions.question_ask)(event=other_event, attendee=otto, text="?")
    phone, _ = await socket_of(event, attendee=attendee)
    await phone.send_json_to({"type": "question.upvote", "question": elsewhere.pk, "ref": "u2"})
    refused = await receive_until(phone, answer("u2"))
    assert refused["reason"] == str(questions.QUESTION_NOT_ON_LIST)
    await phone.disconnect()


async def test_an_attendee_cannot_moderate_or_pin(event, attendee):
    question = await in_thread(questions.question_ask)(event=event, attendee=attendee, text="Q?")
    for name in ("question.pin", "question.hide", "question.approve", "questions.settings"):
        phone, _ = await socket_of(event, attendee=attendee)
        await phone.send_json_to(
            {"type": "host.command", "command": name, "ref": "h", "data": {"question": question.pk}}
        )
        assert await closed_with(phone) == live.CLOSE_FORBIDDEN
    await in_thread(question.refresh_from_db)()
    assert (question.status, question.pinned) == (QuestionStatus.VISIBLE, False)


async def test_a_host_pins_a_question_and_the_projector_shows_it(event, attendee):
    question = await in_thread(questions.question_ask)(
        event=event, attendee=attendee, text="Pin me?", name="Ada"
    )
    host, _ = await socket_of(event, host=True)
    projector, _ = await socket_of(event)
    await host.send_json_to(
        {
            "type": "host.command",
            "command": "question.pin",
            "ref": "p1",
            "data": {"question": question.pk},
        }
    )
    done = await receive_until(host, lambda m: m.get("ref") == "p1")
    assert done["type"] == "command.done"
    board = await receive_until(
        projector, lambda m: m["type"] == "questions.updated" and m["pinned"]
    )
    assert board["pinned"]["text"] == "Pin me?" and board["pinned"]["name"] == "Ada"
    for socket in (host, projector):
        await socket.disconnect()


async def test_with_pre_moderation_only_hosts_see_a_waiting_question(event, attendee):
    await in_thread(questions.questions_settings_set)(
        event=event, premoderated=True, answered_in_recap=False
    )
    host, _ = await socket_of(event, host=True)
    projector, _ = await socket_of(event)
    phone, _ = await socket_of(event, attendee=attendee)
    await phone.send_json_to({"type": "question.ask", "text": "Rude?", "ref": "w1"})
    ack = await receive_until(phone, answer("w1"))
    assert ack["status"] == QuestionStatus.PENDING
    hosts_board = await receive_until(
        host, lambda m: m["type"] == "questions.updated" and m["questions"]
    )
    assert hosts_board["questions"][0]["status"] == "pending"
    public = await receive_until(projector, of_type("questions.updated"))
    assert public["questions"] == [] and public["premoderated"] is True

    await host.send_json_to(
        {
            "type": "host.command",
            "command": "question.approve",
            "ref": "ok",
            "data": {"question": ack["question"]},
        }
    )
    shown = await receive_until(
        projector, lambda m: m["type"] == "questions.updated" and m["questions"]
    )
    assert shown["questions"][0]["text"] == "Rude?"
    for socket in (host, projector, phone):
        await socket.disconnect()


async def test_a_host_command_naming_another_events_question_is_refused(event, other_event):
    otto = await in_thread(make_attendee)(other_event, "Otto")
    elsewhere = await in_thread(questions.question_ask)(event=other_event, attendee=otto, text="?")
    host, _ = await socket_of(event, host=True)
    await host.send_json_to(
        {
            "type": "host.command",
            "command": "question.hide",
            "ref": "x1",
            "data": {"question": elsewhere.pk},
        }
    )
    refused = await receive_until(host, lambda m: m.get("ref") == "x1")
    assert refused["type"] == "command.refused"
    await host.disconnect()


async def test_reaction_taps_are_summed_flushed_and_reach_the_projector_as_one_meter(
    event, attendee, monkeypatch
):
    monkeypatch.setattr(reaction_tally, "FLUSH_INTERVAL", 0.2)
    monkeypatch.setattr(reaction_tally, "_tally", reaction_tally.Tally())
    phone, _ = await socket_of(event, attendee=attendee)
    projector, _ = await socket_of(event)
    for kind in ("agree", "agree", "unclear", "agree", "agree", "agree"):  # 6 taps: burst is 4
        await phone.send_json_to({"type": "reaction.tap", "reaction": kind})
    meter = await receive_until(
        projector, lambda m: m["type"] == "reactions.updated" and sum(m["totals"].values()) > 0
    )
    assert meter["totals"] == {"agree": 3, "unconvinced": 0, "unclear": 1}
    assert meter["recent"] == meter["totals"]
    rows = await in_thread(lambda: sum(r.taps for r in ReactionCount.objects.all()))()
    assert rows == 4  # the two taps beyond the rate were dropped, silently
    for socket in (phone, projector):
        await socket.disconnect()
    await hub.shutdown()  # the flusher keeps the meter decaying for a while: not past the test
