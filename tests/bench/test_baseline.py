"""The group_send baseline (bench/baseline.py): served by its own ASGI application, it relays
every vote as its own transaction and group_send, and the product's fan-out is back after it."""

from __future__ import annotations

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from bench import baseline
from debates import live
from debates.models import Poll, PollKind
from debates.services import voting
from tests.debates.sockets import in_thread, initial, receive_until, session_for
from tests.debates.test_consumers import is_tally

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture
def poll(event) -> Poll:
    return voting.poll_open(event=event, kind=PollKind.PRE_VOTE)


@pytest.fixture(autouse=True)
def _product_fanout_after():
    yield
    live.fanout_plug(None)


async def open_baseline_socket(slug: str, session_key: str | None = None):
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if session_key:
        headers.append((b"cookie", f"sessionid={session_key}".encode()))
    communicator = WebsocketCommunicator(baseline.application, f"/ws/e/{slug}/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


async def test_the_bench_baseline_relays_every_vote_through_the_channel_layer(
    event, poll, attendee, monkeypatch
):
    layer = get_channel_layer()
    sent = []
    real = layer.group_send

    async def spy(group, message):
        sent.append(group)
        await real(group, message)

    monkeypatch.setattr(layer, "group_send", spy)
    voter = await open_baseline_socket(event.slug, await in_thread(session_for)(attendee=attendee))
    viewer = await open_baseline_socket(event.slug)
    await initial(voter)
    await initial(viewer)
    for ref, side in (("1", "for"), ("2", "against")):
        await voter.send_json_to({"type": "vote.cast", "poll": poll.pk, "side": side, "ref": ref})
        await receive_until(voter, lambda m, ref=ref: m.get("ref") == ref)
    last = await receive_until(
        viewer, is_tally(poll, counts={"for": 0, "against": 1, "undecided": 0})
    )
    assert last["total"] == 1
    assert sent.count(live.event_group(event.pk)) == 2  # one group_send per vote
    await voter.disconnect()
    await viewer.disconnect()
