"""debates.live.relay: Redis across processes in-process, resync after a drop, presence, control
messages."""

from __future__ import annotations

import asyncio

import pytest

from debates import live
from debates.models import PollKind
from debates.services import voting
from tests.debates.sockets import in_thread, initial, open_socket, receive, receive_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.services]


@pytest.fixture(autouse=True)
async def _stop_the_hub():
    yield
    await live.shutdown()  # the Redis subscription must not outlive the test's event loop


async def drain(socket) -> None:
    while not await socket.receive_nothing(timeout=0.5):
        await receive(socket)


async def test_a_process_resends_everything_when_its_redis_subscription_comes_back(
    event, redis_url, settings
):
    import redis.asyncio as aioredis

    settings.REDIS_URL = redis_url
    poll = await in_thread(voting.poll_open)(event=event, kind=PollKind.PRE_VOTE)
    socket = await open_socket(event.slug)
    await initial(socket)
    await drain(socket)

    # Cut this process's subscription (and only it), as a Redis restart or a network blip would.
    name = live.stats()["relay"]["name"]
    admin = aioredis.Redis.from_url(redis_url)
    [client] = [c for c in await admin.client_list() if c.get("name") == name]
    await admin.client_kill_filter(_id=client["id"])
    await admin.aclose()

    # The state and the tallies are read by two flushers at once: either may arrive first (a
    # test that waited for the state first dropped a tally that overtook it, now and then).
    seen: dict[str, dict] = {}
    while len(seen) < 2:
        message = await receive_until(
            socket, lambda m: m["type"] in {"phase.changed", "tally.updated"}, timeout=20
        )
        seen.setdefault(message["type"], message)
    assert seen["phase.changed"]["phase"] == event.phase
    assert seen["tally.updated"]["poll"] == poll.pk
    assert live.stats()["relay"]["subscriptions"] == 2
    await socket.disconnect()


async def test_a_snapshot_published_by_another_process_reaches_local_sockets(
    event, redis_url, settings
):
    import redis.asyncio as aioredis

    settings.REDIS_URL = redis_url
    socket = await open_socket(event.slug)
    await initial(socket)
    await drain(socket)
    # What another process's hub publishes: deliveries as (group, text, exclude).
    envelope = live.encode(
        {"o": "another-process", "d": [[live.event_group(event.pk), '{"type":"x.tested"}', None]]}
    )
    publisher = aioredis.Redis.from_url(redis_url)
    await publisher.publish(live.REDIS_CHANNEL, envelope)
    await publisher.aclose()
    assert await receive(socket) == {"type": "x.tested"}
    await socket.disconnect()


async def test_connected_now_adds_up_the_attendees_of_every_process(event, redis_url, settings):
    import time

    import redis.asyncio as aioredis

    from tests.conftest import make_attendee
    from tests.debates.sockets import session_for

    settings.REDIS_URL = redis_url
    ada = await in_thread(make_attendee)(event, "Ada")
    socket = await open_socket(event.slug, await in_thread(session_for)(attendee=ada))
    await initial(socket)

    admin = aioredis.Redis.from_url(redis_url)
    key = live.presence_key(event.pk)
    # Another process reports 3 attendees just now; a process that died reported 5 long ago.
    await admin.hset(key, "other-process", f"3:{time.time():.3f}")
    await admin.hset(key, "dead-process", f"5:{time.time() - 60:.3f}")
    assert await in_thread(live.attendees_connected)(event.pk) == 1 + 3

    # This process reports its own attendee for the others to read.
    origin = live.stats()["relay"]["origin"]
    for _ in range(40):
        mine = await admin.hget(key, origin)
        if mine and mine.decode().startswith("1:"):
            break
        await asyncio.sleep(0.25)
    assert mine.decode().startswith("1:")

    # When the attendee leaves, the others are told this process has nobody left.
    await socket.disconnect()
    for _ in range(40):
        mine = await admin.hget(key, origin)
        if mine.decode().startswith("0:"):
            break
        await asyncio.sleep(0.25)
    assert mine.decode().startswith("0:")
    await admin.aclose()


async def test_a_control_message_crosses_processes_as_one_json_envelope(event, redis_url, settings):
    """Through Redis it is {"o": origin, "c": [name, payload]}: what a listener acts on."""
    import json

    import redis.asyncio as aioredis

    from debates.live import hosts

    settings.REDIS_URL = redis_url
    socket = await open_socket(event.slug)
    await initial(socket)
    listener = aioredis.Redis.from_url(redis_url).pubsub()
    await listener.subscribe(live.REDIS_CHANNEL)

    await in_thread(hosts.hosts_changed)(event_id=event.pk)

    for _ in range(100):
        item = await listener.get_message(ignore_subscribe_messages=True, timeout=0.2)
        if item is not None:
            break
    envelope = json.loads(item["data"])
    assert envelope == {
        "o": live.stats()["relay"]["origin"],
        "c": [hosts.CONTROL, {"event": event.pk, "user": None}],
    }
    await listener.aclose()
    await socket.disconnect()
