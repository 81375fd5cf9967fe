"""A socket bounds its work per attendee (issue 11): a flooding socket is closed with 4429 and
what it sends afterwards costs nothing; the vote writer holds at most one queued vote per
attendee and poll and at most WRITER_QUEUE_MAX in all; innocent voters are all acknowledged and
counted. Correctness only: the figures (RSS, acknowledgement times) are `python -m bench.run
flood`'s (BENCHMARKS.md).
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from debates import live
from debates.live import budget as frame_budget
from debates.live import transport, writer
from debates.models import Poll, PollKind, Vote
from debates.services import voting
from events.models import Admission
from tests.conftest import make_attendee, make_event
from tests.debates.sockets import in_thread, initial, open_socket, receive_until, session_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

# Far more than the budget lets through before the socket is closed: the bucket would have to
# refill for FLOOD / FRAME_RATE seconds (100 s) while the frames are handled to stay open.
FLOOD = frame_budget.FRAME_BURST + 2000
CHUNK = 25  # frames sent before the writer's queue is looked at again


@pytest.fixture
def event(organiser):
    # "open" admission: the standing join code admits, independent of the screen-code join flow.
    return make_event(organiser, admission=Admission.OPEN)


@pytest.fixture
def poll(event) -> Poll:
    return voting.poll_open(event=event, kind=PollKind.PRE_VOTE)


def recount(poll_id: int) -> tuple[dict[str, int], int]:
    counts = {"for": 0, "against": 0, "undecided": 0}
    for side in Vote.objects.filter(poll_id=poll_id).values_list("side", flat=True):
        counts[side] += 1
    return counts, Poll.objects.get(pk=poll_id).version


def side_of(attendee_id: int, poll_id: int) -> str | None:
    return (
        Vote.objects.filter(attendee_id=attendee_id, poll_id=poll_id)
        .values_list("side", flat=True)
        .first()
    )


async def voter(event, name: str):
    person = await in_thread(make_attendee)(event, name)
    socket = await open_socket(event.slug, await in_thread(session_for)(attendee=person))
    await initial(socket)
    return person, socket


def vote(poll, side: str, ref: str) -> dict:
    return {"type": "vote.cast", "poll": poll.pk, "side": side, "ref": ref}


async def close_code(socket) -> int | None:
    """Reads (and drops) what the server sends until it closes the socket."""
    while True:
        output = await socket.receive_output(timeout=10)
        if output["type"] == "websocket.close":
            return output.get("code")


async def handled(socket) -> list[dict]:
    """Once the consumer has handled every frame sent so far (it answers in order): what it
    sent meanwhile."""
    await socket.send_json_to({"type": "ping"})
    messages = []
    while (message := await socket.receive_json_from(timeout=5))["type"] != "pong":
        messages.append(message)
    return messages


async def drained(socket) -> list[dict]:
    """Whatever the socket is sent until it has been quiet for a moment."""
    messages = []
    while not await socket.receive_nothing(timeout=0.3):
        messages.append(await socket.receive_json_from())
    return messages


async def writer_idle() -> None:
    for _ in range(500):
        if live.votes_queued() == 0:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the writer did not drain")


async def tally_shown(viewer, poll) -> dict:
    """The pushed tally once it has caught up with the database, and the recount."""
    counts, version = await in_thread(recount)(poll.pk)
    shown = await receive_until(
        viewer,
        lambda m: m["type"] == "tally.updated" and m["poll"] == poll.pk and m["version"] >= version,
        timeout=10,
    )
    return {"shown": shown["counts"], "recount": counts}


@pytest.fixture
def held_writer(monkeypatch):
    """The writer's database call waits for `release`: votes pile up behind a batch in flight."""
    entered, release = threading.Event(), threading.Event()
    real = voting.votes_cast_batch

    def held(*, ballots):
        entered.set()
        release.wait(30)
        return real(ballots=ballots)

    monkeypatch.setattr(voting, "votes_cast_batch", held)
    yield entered, release
    release.set()


# ---------------------------------------------------------------- the frame budget


@pytest.mark.parametrize("frame", [vote, lambda poll, side, ref: {"type": "ping"}])
async def test_a_socket_that_floods_is_closed_with_4429_and_later_frames_cost_nothing(
    event, poll, frame
):
    person, socket = await voter(event, "Flo")
    for i in range(FLOOD):
        await socket.send_json_to(frame(poll, "for", f"f{i}"))
    assert await close_code(socket) == live.CLOSE_TOO_MANY_FRAMES
    await writer_idle()
    before = await in_thread(side_of)(person.pk, poll.pk)
    await drained(socket)  # answers and pushes sent before the close reached the socket
    # Decided: a frame that still arrives is neither answered nor queued nor written.
    await socket.send_json_to(vote(poll, "against", "late"))
    assert live.votes_queued() == 0
    assert not [m for m in await drained(socket) if m.get("ref") == "late"]
    assert await in_thread(side_of)(person.pk, poll.pk) == before
    await socket.disconnect()


async def test_a_client_within_its_budget_is_answered_and_stays_open(event, poll):
    _person, socket = await voter(event, "Patient")
    # The whole bucket at once: FRAME_BURST frames, the last a vote.
    for _ in range(frame_budget.FRAME_BURST - 1):
        await socket.send_json_to({"type": "ping"})
    await socket.send_json_to(vote(poll, "against", "after"))
    for _ in range(frame_budget.FRAME_BURST - 1):
        assert (await socket.receive_json_from(timeout=5))["type"] == "pong"
    answer = await receive_until(socket, lambda m: m.get("ref") == "after")
    assert answer["type"] == "vote.acknowledged"
    await socket.disconnect()


# ---------------------------------------------------------------- the writer's queue


async def test_a_newer_vote_replaces_the_queued_one_which_is_answered_replaced(
    event, poll, held_writer
):
    entered, release = held_writer
    person, socket = await voter(event, "Changeable")
    await socket.send_json_to(vote(poll, "for", "first"))
    assert await asyncio.to_thread(entered.wait, 10)  # "first" is being written
    sides = ["against", "undecided"] * 5
    for i, side in enumerate(sides):
        await socket.send_json_to(vote(poll, side, f"v{i}"))
        answers = [m for m in await handled(socket) if m["type"].startswith("vote.")]
        if i:
            assert answers == [{"type": "vote.replaced", "ref": f"v{i - 1}", "poll": poll.pk}]
        assert live.votes_queued(attendee_id=person.pk, poll_id=poll.pk) == 1
    release.set()
    first = await receive_until(socket, lambda m: m.get("ref") == "first")
    last = await receive_until(socket, lambda m: m.get("ref") == f"v{len(sides) - 1}")
    assert first["type"] == last["type"] == "vote.acknowledged"
    assert last["side"] == sides[-1]
    assert await in_thread(side_of)(person.pk, poll.pk) == sides[-1]
    await socket.disconnect()


async def test_votes_of_other_polls_and_people_are_not_replaced(event, poll, held_writer):
    entered, release = held_writer
    other_poll = await in_thread(voting.poll_open)(event=event, kind=PollKind.AD_HOC)
    ada, ada_socket = await voter(event, "Ada")
    bo, bo_socket = await voter(event, "Bo")
    await ada_socket.send_json_to(vote(poll, "for", "held"))
    assert await asyncio.to_thread(entered.wait, 10)
    await ada_socket.send_json_to(vote(poll, "for", "a1"))
    await ada_socket.send_json_to(vote(other_poll, "against", "a2"))
    await bo_socket.send_json_to(vote(poll, "against", "b1"))
    await handled(ada_socket)
    await handled(bo_socket)
    assert live.votes_queued() == 3
    release.set()
    for socket, ref in ((ada_socket, "a1"), (ada_socket, "a2"), (bo_socket, "b1")):
        answer = await receive_until(socket, lambda m, ref=ref: m.get("ref") == ref)
        assert answer["type"] == "vote.acknowledged", answer
    assert await in_thread(side_of)(ada.pk, poll.pk) == "for"
    assert await in_thread(side_of)(ada.pk, other_poll.pk) == "against"
    assert await in_thread(side_of)(bo.pk, poll.pk) == "against"
    await ada_socket.disconnect()
    await bo_socket.disconnect()


async def test_the_writer_refuses_a_vote_beyond_its_bound_and_keeps_every_other(
    event, poll, held_writer, monkeypatch
):
    monkeypatch.setattr(writer, "WRITER_QUEUE_MAX", 3)
    entered, release = held_writer
    people = [await voter(event, f"p{i}") for i in range(5)]
    viewer = await open_socket(event.slug)
    await initial(viewer)
    await people[0][1].send_json_to(vote(poll, "for", "p0"))
    assert await asyncio.to_thread(entered.wait, 10)
    for i, (_person, socket) in enumerate(people[1:4], 1):
        await socket.send_json_to(vote(poll, "against", f"p{i}"))
        await handled(socket)
    assert live.votes_queued() == 3
    # Full: a fifth person is refused, with the reason; someone already queued may still change.
    await people[4][1].send_json_to(vote(poll, "for", "p4"))
    refused = await receive_until(people[4][1], lambda m: m.get("ref") == "p4")
    assert refused == {
        "type": "vote.refused",
        "ref": "p4",
        "poll": poll.pk,
        "reason": str(writer.VOTE_QUEUE_FULL),
    }
    await people[1][1].send_json_to(vote(poll, "undecided", "p1-again"))
    replaced = await receive_until(people[1][1], lambda m: m.get("ref") == "p1")
    assert replaced["type"] == "vote.replaced"
    assert live.votes_queued() == 3
    release.set()
    for i, ref in ((0, "p0"), (1, "p1-again"), (2, "p2"), (3, "p3")):
        answer = await receive_until(people[i][1], lambda m, ref=ref: m.get("ref") == ref)
        assert answer["type"] == "vote.acknowledged", answer
    assert await in_thread(side_of)(people[4][0].pk, poll.pk) is None
    tally = await tally_shown(viewer, poll)
    assert tally["shown"] == tally["recount"] == {"for": 1, "against": 2, "undecided": 1}
    for _person, socket in people:
        await socket.disconnect()
    await viewer.disconnect()


async def test_one_attendee_cannot_fill_the_queue_with_made_up_polls(event, poll, held_writer):
    """Red team: poll ids are the client's word until the writer checks them, so one attendee
    naming made-up polls filled the queue and an innocent voter was refused. Each attendee holds
    at most ATTENDEE_QUEUE_MAX queued votes; the others keep their places."""
    entered, release = held_writer
    mallory, socket = await voter(event, "mallory")
    ada, ada_socket = await voter(event, "ada")
    await socket.send_json_to(vote(poll, "for", "first"))
    assert await asyncio.to_thread(entered.wait, 10)  # that one is being written
    made_up = [10**9 + n for n in range(writer.ATTENDEE_QUEUE_MAX + 5)]
    for n, poll_id in enumerate(made_up):
        await socket.send_json_to(
            {"type": "vote.cast", "poll": poll_id, "side": "for", "ref": f"m{n}"}
        )
    last = f"m{len(made_up) - 1}"
    refused = await receive_until(socket, lambda m: m.get("ref") == last)
    assert refused["type"] == "vote.refused"
    assert refused["reason"] == str(writer.VOTE_QUEUE_FULL)
    assert live.votes_queued(attendee_id=mallory.pk) == writer.ATTENDEE_QUEUE_MAX
    await ada_socket.send_json_to(vote(poll, "against", "ada"))
    await handled(ada_socket)
    assert live.votes_queued(attendee_id=ada.pk) == 1  # the innocent voter keeps a place
    release.set()
    answer = await receive_until(ada_socket, lambda m: m.get("ref") == "ada")
    assert answer["type"] == "vote.acknowledged"
    for s in (socket, ada_socket):
        await s.disconnect()


# ---------------------------------------------------------------- a flood beside an innocent voter


async def test_a_flood_is_closed_each_time_and_an_innocent_voter_is_acknowledged_and_counted(
    event, poll
):
    flooder = await in_thread(make_attendee)(event, "Flooder")
    session = await in_thread(session_for)(attendee=flooder)
    innocent, innocent_socket = await voter(event, "Innocent")
    viewer = await open_socket(event.slug)
    await initial(viewer)
    codes: list[int | None] = []
    queued: list[tuple[int, int]] = []  # (the flooder's queued votes, all queued votes)

    async def flood() -> None:
        for round_ in range(3):  # closed, it reconnects and floods again
            socket = await open_socket(event.slug, session)
            await initial(socket)
            for i in range(0, FLOOD, CHUNK):
                for j in range(i, min(i + CHUNK, FLOOD)):
                    await socket.send_json_to(vote(poll, "for", f"{round_}.{j}"))
                await asyncio.sleep(0)  # the consumer and the writer take their turn
                queued.append(
                    (
                        live.votes_queued(attendee_id=flooder.pk, poll_id=poll.pk),
                        live.votes_queued(),
                    )
                )
            codes.append(await close_code(socket))
            await socket.disconnect()

    async def vote_honestly() -> list[dict]:
        answers = []
        for i, side in enumerate(["against", "undecided", "for", "against", "undecided"]):
            await innocent_socket.send_json_to(vote(poll, side, f"i{i}"))
            answers.append(
                await receive_until(innocent_socket, lambda m, i=i: m.get("ref") == f"i{i}")
            )
        return answers

    _, answers = await asyncio.gather(flood(), vote_honestly())
    assert codes == [live.CLOSE_TOO_MANY_FRAMES] * 3
    assert all(mine <= 1 and every <= writer.WRITER_QUEUE_MAX for mine, every in queued), queued
    assert [a["type"] for a in answers] == ["vote.acknowledged"] * 5
    await writer_idle()
    assert await in_thread(side_of)(innocent.pk, poll.pk) == "undecided"
    assert await in_thread(side_of)(flooder.pk, poll.pk) == "for"
    tally = await tally_shown(viewer, poll)
    assert tally["shown"] == tally["recount"] == {"for": 1, "against": 0, "undecided": 1}
    await innocent_socket.disconnect()
    await viewer.disconnect()


# ---------------------------------------------------------------- under daphne: counted on arrival


class FakeDaphneProtocol:
    """What transport.frames_guard uses of daphne's protocol: onMessage, serverClose, transport."""

    def __init__(self) -> None:
        self.queued: list[bytes] = []  # what daphne would have queued for the consumer
        self.closed_with: list[int] = []
        self.transport = self
        self.reading = True

    def onMessage(self, payload: bytes, is_binary: bool) -> None:
        self.queued.append(payload)

    def serverClose(self, code: int) -> None:
        self.closed_with.append(code)

    def pauseProducing(self) -> None:
        self.reading = False


async def test_under_daphne_a_flood_is_closed_where_it_arrives_and_never_queued(monkeypatch):
    monkeypatch.setattr(frame_budget, "FRAME_RATE", 0.0)  # no refill: the count is exact
    protocol = FakeDaphneProtocol()
    budget = frame_budget.FrameBudget()
    scope = {transport.DAPHNE_PROTOCOL: protocol}
    assert transport.frames_guard(scope, budget.spend, close_code=live.CLOSE_TOO_MANY_FRAMES)
    for _ in range(FLOOD):
        protocol.onMessage(b'{"type": "ping"}', False)
    # The bucket's worth reaches the consumer; the rest is dropped on arrival, the close is sent
    # once, and daphne stops reading the socket.
    assert len(protocol.queued) == frame_budget.FRAME_BURST
    assert protocol.closed_with == [live.CLOSE_TOO_MANY_FRAMES]
    assert protocol.reading is False


async def test_outside_daphne_the_consumer_counts_the_frames():
    assert not transport.frames_guard({}, frame_budget.FrameBudget().spend, close_code=4429)
