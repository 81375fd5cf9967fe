"""The socket: snapshot on connect, votes over the socket, live pushes, and every bad input."""

from __future__ import annotations

import json

import pytest

from debates import live
from debates.models import Poll, PollKind, PollState, ResultsVisibility, Vote
from debates.services import voting
from events.models import Phase
from tests.conftest import make_attendee
from tests.debates.sockets import (
    in_thread,
    initial,
    open_socket,
    receive,
    receive_until,
    session_for,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture
def poll(event) -> Poll:
    return voting.poll_open(event=event, kind=PollKind.PRE_VOTE)


def tally_of(poll_id: int) -> dict[str, int]:
    counts = {"for": 0, "against": 0, "undecided": 0}
    for side in Vote.objects.filter(poll_id=poll_id).values_list("side", flat=True):
        counts[side] += 1
    return counts


def is_tally(poll, **fields):
    return lambda m: (
        m["type"] == "tally.updated"
        and m["poll"] == poll.pk
        and all(m.get(k) == v for k, v in fields.items())
    )


async def test_it_sends_the_current_state_at_once_on_connect(event, poll, attendee):
    await in_thread(voting.vote_cast)(poll=poll, attendee=attendee, side="against")
    socket = await open_socket(event.slug, await in_thread(session_for)(attendee=attendee))
    got = await initial(socket)
    [state] = got["phase.changed"]
    assert state["phase"] == Phase.PRE_VOTE and "Vote FOR" in state["html"]
    [tally] = got["tally.updated"]
    assert tally["poll"] == poll.pk and tally["counts"]["against"] == 1 and tally["total"] == 1
    assert tally["version"] == (await in_thread(Poll.objects.get)(pk=poll.pk)).version
    assert got["you.synced"] == [
        {
            "type": "you.synced",
            "attendee": True,
            "host": False,
            "name": "Ada",
            "votes": {str(poll.pk): "against"},
        }
    ]
    await socket.disconnect()


async def test_a_viewer_without_a_session_gets_the_state_but_is_no_attendee(event, poll):
    socket = await open_socket(event.slug)
    got = await initial(socket)
    assert got["you.synced"][0]["attendee"] is False
    assert got["tally.updated"][0]["total"] == 0
    await socket.disconnect()


async def test_a_vote_over_the_socket_is_acknowledged_after_commit_and_pushed(
    event, poll, attendee
):
    voter = await open_socket(event.slug, await in_thread(session_for)(attendee=attendee))
    projector = await open_socket(event.slug)
    await initial(voter)
    await initial(projector)

    await voter.send_json_to({"type": "vote.cast", "poll": poll.pk, "side": "for", "ref": "a1"})
    ack = await receive_until(voter, lambda m: m["type"] == "vote.acknowledged")
    version = (await in_thread(Poll.objects.get)(pk=poll.pk)).version
    assert ack == {
        "type": "vote.acknowledged",
        "ref": "a1",
        "poll": poll.pk,
        "side": "for",
        "version": version,
    }
    # Acknowledged means committed: another connection sees it now.
    assert await in_thread(tally_of)(poll.pk) == {"for": 1, "against": 0, "undecided": 0}

    pushed = await receive_until(projector, is_tally(poll, total=1))
    assert pushed["version"] >= ack["version"]
    assert pushed["counts"] == {"for": 1, "against": 0, "undecided": 0}
    assert pushed["percent"]["for"] == 100
    await voter.disconnect()
    await projector.disconnect()


async def test_changing_a_vote_moves_it_and_a_reconnect_reads_it_back(event, poll, attendee):
    key = await in_thread(session_for)(attendee=attendee)
    socket = await open_socket(event.slug, key)
    await initial(socket)
    for ref, side in (("1", "for"), ("2", "against"), ("3", "undecided")):
        await socket.send_json_to({"type": "vote.cast", "poll": poll.pk, "side": side, "ref": ref})
        await receive_until(socket, lambda m, ref=ref: m.get("ref") == ref)
    last = await receive_until(
        socket, is_tally(poll, counts={"for": 0, "against": 0, "undecided": 1})
    )
    assert last["total"] == 1
    await socket.disconnect()

    again = await open_socket(event.slug, key)
    got = await initial(again)
    assert got["you.synced"][0]["votes"] == {str(poll.pk): "undecided"}
    await again.disconnect()


async def test_closing_the_poll_is_pushed_and_later_votes_are_refused(event, poll, attendee):
    socket = await open_socket(event.slug, await in_thread(session_for)(attendee=attendee))
    await initial(socket)
    await in_thread(voting.poll_close)(poll=poll)
    closed = await receive_until(socket, is_tally(poll, state=PollState.CLOSED))
    assert closed["visible"] is True
    stage = await receive_until(socket, lambda m: m["type"] == "phase.changed")
    assert "Vote FOR" not in stage["html"]  # the buttons are gone from the pushed page

    await socket.send_json_to({"type": "vote.cast", "poll": poll.pk, "side": "for", "ref": "x"})
    refused = await receive_until(socket, lambda m: m["type"] == "vote.refused")
    assert refused["reason"] == str(voting.VOTE_POLL_CLOSED)
    assert await in_thread(tally_of)(poll.pk) == {"for": 0, "against": 0, "undecided": 0}
    await socket.disconnect()


@pytest.mark.parametrize(
    ("side", "reason"),
    [("maybe", voting.VOTE_SIDE_UNKNOWN), ("for", voting.VOTE_POLL_OTHER_EVENT)],
)
async def test_it_refuses_an_unknown_side_and_a_poll_of_another_event(
    event, other_event, attendee, side, reason
):
    own = await in_thread(voting.poll_open)(event=event, kind=PollKind.PRE_VOTE)
    foreign = await in_thread(voting.poll_open)(event=other_event, kind=PollKind.PRE_VOTE)
    target = own if side == "maybe" else foreign
    socket = await open_socket(event.slug, await in_thread(session_for)(attendee=attendee))
    await initial(socket)
    await socket.send_json_to({"type": "vote.cast", "poll": target.pk, "side": side, "ref": "r"})
    refused = await receive_until(socket, lambda m: m["type"] == "vote.refused")
    assert refused["reason"] == str(reason)
    assert await in_thread(Vote.objects.count)() == 0
    await socket.disconnect()


async def test_it_closes_4403_on_a_vote_from_a_socket_that_is_no_attendee(event, other_event, poll):
    stranger = await in_thread(make_attendee)(other_event, "Eve")  # joined another event only
    socket = await open_socket(event.slug, await in_thread(session_for)(attendee=stranger))
    got = await initial(socket)
    assert got["you.synced"][0]["attendee"] is False
    await socket.send_json_to({"type": "vote.cast", "poll": poll.pk, "side": "for", "ref": "r"})
    assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}
    assert await in_thread(Vote.objects.count)() == 0


async def test_a_forged_token_in_the_session_counts_as_no_attendee(event, poll, attendee):
    attendee.token = "forged-" + attendee.token
    socket = await open_socket(event.slug, await in_thread(session_for)(attendee=attendee))
    got = await initial(socket)
    assert got["you.synced"][0]["attendee"] is False
    await socket.send_json_to({"type": "vote.cast", "poll": poll.pk, "side": "for", "ref": "r"})
    assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}


@pytest.mark.parametrize(
    "frame",
    [
        "{not json",
        json.dumps(["vote.cast"]),
        json.dumps({"type": "tally.updated"}),
        json.dumps({"type": "vote.cast", "poll": "12", "side": "for"}),
        json.dumps({"type": "vote.cast", "poll": 1, "side": "for", "ref": "r" * 65}),
        json.dumps({"type": "vote.cast", "poll": 1, "side": "for", "ref": "x" * 5000}),
    ],
    ids=["not-json", "not-an-object", "unknown-type", "poll-not-an-id", "long-ref", "oversized"],
)
async def test_it_closes_4400_on_a_malformed_or_oversized_frame(event, poll, attendee, frame):
    socket = await open_socket(event.slug, await in_thread(session_for)(attendee=attendee))
    await initial(socket)
    await socket.send_to(text_data=frame)
    assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4400}
    assert await in_thread(Vote.objects.count)() == 0
    # The server is still up: a fresh socket works.
    again = await open_socket(event.slug)
    await initial(again)
    await again.disconnect()


async def test_it_closes_4400_on_a_binary_frame(event, poll):
    socket = await open_socket(event.slug)
    await initial(socket)
    await socket.send_to(bytes_data=b"\x00\x01")
    assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4400}


async def test_it_closes_4404_for_an_unknown_event(db):
    socket = await open_socket("no-such-event")
    assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4404}


async def test_it_answers_a_ping(event):
    socket = await open_socket(event.slug)
    await initial(socket)
    await socket.send_json_to({"type": "ping"})
    assert await receive(socket) == {"type": "pong"}
    await socket.disconnect()


async def test_hidden_results_reach_hosts_only(event, attendee):
    poll = await in_thread(voting.poll_open)(
        event=event, kind=PollKind.PRE_VOTE, results_visibility=ResultsVisibility.AFTER_CLOSE
    )
    host = await open_socket(event.slug, await in_thread(session_for)(host_event=event))
    voter = await open_socket(event.slug, await in_thread(session_for)(attendee=attendee))
    host_first = await initial(host)
    assert host_first["you.synced"][0]["host"] is True
    await initial(voter)

    await voter.send_json_to({"type": "vote.cast", "poll": poll.pk, "side": "for", "ref": "h"})
    seen_by_voter = await receive_until(voter, is_tally(poll, total=1))
    assert seen_by_voter["visible"] is False and "counts" not in seen_by_voter
    seen_by_host = await receive_until(host, is_tally(poll, total=1))
    assert seen_by_host["counts"]["for"] == 1 and seen_by_host["attendees"] == 1

    await in_thread(voting.poll_close)(poll=poll)
    revealed = await receive_until(voter, is_tally(poll, state=PollState.CLOSED))
    assert revealed["visible"] is True and revealed["counts"]["for"] == 1
    await voter.disconnect()
    await host.disconnect()


async def test_a_phase_change_reaches_the_attendee_page_live(event, attendee):
    socket = await open_socket(event.slug, await in_thread(session_for)(attendee=attendee))
    first = (await initial(socket))["phase.changed"][0]

    def go_to_breakouts():
        event.phase = Phase.BREAKOUTS
        event.save(update_fields=["phase"])
        live.event_changed(event.pk)

    await in_thread(go_to_breakouts)()
    changed = await receive_until(socket, lambda m: m["type"] == "phase.changed")
    assert changed["phase"] == Phase.BREAKOUTS and changed["label"] == "Breakouts"
    assert changed["seq"] > first["seq"]
    await socket.disconnect()


async def test_a_burst_of_votes_is_coalesced_into_a_few_snapshots(event, poll):
    """Forty votes committed one by one in a burst: far fewer snapshots, and the last exact."""
    attendees = [await in_thread(make_attendee)(event, f"p{i}") for i in range(40)]
    viewer = await open_socket(event.slug)
    await initial(viewer)

    def burst():
        for a in attendees:
            voting.vote_cast(poll=poll, attendee=a, side="for")

    await in_thread(burst)()
    snapshots = []
    while not snapshots or snapshots[-1]["total"] < 40:
        message = await receive_until(viewer, is_tally(poll))
        snapshots.append(message)
    # A change committed during a read is followed by one more (identical) snapshot at most.
    while not await viewer.receive_nothing(timeout=live.TALLY_INTERVAL * 2):
        snapshots.append(await receive(viewer))
    assert len(snapshots) < 20
    assert snapshots[-1]["total"] == 40
    versions = [m["version"] for m in snapshots]
    assert versions == sorted(versions)
    assert snapshots[-1]["counts"]["for"] == 40
    await viewer.disconnect()


async def test_a_failed_batch_is_retried_vote_by_vote(event, poll, attendee, monkeypatch):
    real = voting.votes_cast_batch
    calls = []

    def flaky(*, ballots):  # fails once, then works
        calls.append(len(ballots))
        if len(calls) == 1:
            raise RuntimeError("the database went away for a moment")
        return real(ballots=ballots)

    monkeypatch.setattr(voting, "votes_cast_batch", flaky)
    socket = await open_socket(event.slug, await in_thread(session_for)(attendee=attendee))
    await initial(socket)
    await socket.send_json_to({"type": "vote.cast", "poll": poll.pk, "side": "for", "ref": "f"})
    ack = await receive_until(socket, lambda m: m.get("ref") == "f")
    assert ack["type"] == "vote.acknowledged"
    assert calls == [1, 1]
    assert await in_thread(tally_of)(poll.pk) == {"for": 1, "against": 0, "undecided": 0}
    await socket.disconnect()


async def test_a_vote_the_database_cannot_take_is_refused_not_acknowledged(
    event, poll, attendee, monkeypatch
):
    def broken(*, ballots):
        raise RuntimeError("disk full")

    monkeypatch.setattr(voting, "votes_cast_batch", broken)
    socket = await open_socket(event.slug, await in_thread(session_for)(attendee=attendee))
    await initial(socket)
    await socket.send_json_to({"type": "vote.cast", "poll": poll.pk, "side": "for", "ref": "d"})
    answer = await receive_until(socket, lambda m: m.get("ref") == "d")
    assert answer == {
        "type": "vote.refused",
        "ref": "d",
        "poll": poll.pk,
        "reason": str(voting.VOTE_NOT_SAVED),
    }
    # The socket and the server carry on.
    await socket.send_json_to({"type": "ping"})
    assert await receive_until(socket, lambda m: m["type"] == "pong")
    await socket.disconnect()


async def test_send_reaches_every_socket_of_a_group_once(event, attendee):
    voter = await open_socket(event.slug, await in_thread(session_for)(attendee=attendee))
    viewer = await open_socket(event.slug)
    await initial(voter)
    await initial(viewer)
    live.send(live.event_group(event.pk), {"type": "message.broadcast", "text": "Five minutes"})
    for socket in (voter, viewer):
        got = await receive_until(socket, lambda m: m["type"] == "message.broadcast")
        assert got["text"] == "Five minutes"
        assert await socket.receive_nothing(timeout=0.1)
        await socket.disconnect()
