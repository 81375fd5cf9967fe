"""Several processes (REDIS_URL set): Redis pub/sub for deliveries and control messages, and
presence.

Each process holds ONE Redis pub/sub subscription (redis.asyncio, channel REDIS_CHANNEL). The
process that read a snapshot publishes the encoded deliveries once (`{"o": origin, "d": [...]}`);
every other process writes them to its own sockets. Channels' Redis layer is not used for
fan-out (it drops overflow and runs out of connections at a few hundred sockets). With several
processes each coalesces its own votes, so a poll may see up to N snapshots per interval; the
version check on the client makes that harmless. When the subscription drops and comes back,
the process resends the state and tallies of every event it has sockets for (hub.resync).

Control messages (`{"o": origin, "c": [name, payload]}`) travel the same channel: ONE message
per change, which every process acts on for its own sockets (debates.live.hosts).

Presence (the console's "connected now") is counted by each process and reported to a Redis
hash per event every PRESENCE_INTERVAL; `presence_elsewhere` adds up the fresh reports of the
other processes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any

from django.conf import settings

from debates.live.protocol import encode

log = logging.getLogger(__name__)

REDIS_CHANNEL = "productbreaks.live"
PRESENCE_INTERVAL = 2.0  # seconds between two reports of a process's presence to Redis
PRESENCE_TTL = 10.0  # a process that has not reported for this long no longer counts


class RedisBridge:
    """One Redis pub/sub subscription per process; deliveries cross processes through it."""

    def __init__(self, hub: Any, url: str) -> None:
        import redis.asyncio as aioredis

        self.hub = hub
        self.url = url
        self.origin = uuid.uuid4().hex
        self.name = f"productbreaks-live-{self.origin[:12]}"
        self.publisher = aioredis.Redis.from_url(url)
        self.subscribed = asyncio.Event()
        self.subscriptions = 0
        self.reported: set[int] = set()  # events whose presence this process last reported
        hub.spawn(self.listen())
        hub.spawn(self.report_presence())

    def stats(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "origin": self.origin,
            "subscribed": self.subscribed.is_set(),
            "subscriptions": self.subscriptions,
        }

    async def ready(self, timeout: float = 3.0) -> None:
        """Waits (once, briefly) for the subscription, so a first socket misses nothing."""
        if self.subscribed.is_set():
            return
        try:
            await asyncio.wait_for(self.subscribed.wait(), timeout)
        except TimeoutError:
            log.warning("live: Redis subscription not ready; other processes' broadcasts wait")

    async def publish(self, body: list[Any], key: str = "d") -> None:
        """Deliveries ("d") or a control message ("c") to the other processes."""
        try:
            await self.publisher.publish(REDIS_CHANNEL, encode({"o": self.origin, key: body}))
        except Exception:
            log.warning("live: Redis publish failed", exc_info=True)

    async def report_presence(self) -> None:
        """Every PRESENCE_INTERVAL: this process's attendee count per event, into one Redis
        hash per event (field: this process). An event that emptied is reported once as 0."""
        while True:
            await asyncio.sleep(PRESENCE_INTERVAL)
            counts = {
                event_id: self.hub.attendees_here(event_id) for event_id in self.hub.events_here()
            }
            stamp = f"{time.time():.3f}"
            try:
                async with self.publisher.pipeline(transaction=False) as pipe:
                    for event_id in self.reported | counts.keys():
                        key = presence_key(event_id)
                        pipe.hset(key, self.origin, f"{counts.get(event_id, 0)}:{stamp}")
                        pipe.expire(key, int(PRESENCE_TTL * 3))
                    await pipe.execute()
            except Exception:
                log.warning("live: reporting presence to Redis failed", exc_info=True)
                continue
            self.reported = set(counts)

    async def listen(self) -> None:
        import redis.asyncio as aioredis

        delay = 0.5
        while True:
            # Named, so CLIENT LIST tells each process's subscription apart.
            client = aioredis.Redis.from_url(self.url, client_name=self.name)
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(REDIS_CHANNEL)
                delay = 0.5
                async for item in pubsub.listen():
                    if item.get("type") == "subscribe":
                        # Also after redis-py reconnects by itself (it resubscribes silently):
                        # what was published while we were away is lost, so resend what we show.
                        self.subscriptions += 1
                        if self.subscriptions > 1:
                            self.hub.resync()
                        self.subscribed.set()
                        continue
                    if item.get("type") != "message":
                        continue
                    envelope = json.loads(item["data"])
                    if envelope.get("o") == self.origin:
                        continue
                    if "c" in envelope:
                        self.hub.control(*envelope["c"])
                    else:
                        await self.hub.deliver(envelope["d"])
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("live: Redis subscription lost; retrying", exc_info=True)
            finally:
                self.subscribed.clear()
                try:
                    await pubsub.aclose()
                    await client.aclose()
                except Exception:
                    log.debug("live: closing the Redis subscription failed", exc_info=True)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def presence_key(event_id: int) -> str:
    return f"productbreaks.presence.{event_id}"


_presence_client: Any = None


def presence_elsewhere(event_id: int, *, own_origin: str | None) -> int:
    """Attendees connected to the other processes, from their fresh reports (sync: views)."""
    global _presence_client
    import redis

    if _presence_client is None:
        _presence_client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
    try:
        reports = _presence_client.hgetall(presence_key(event_id))
    except redis.RedisError:
        log.warning("live: reading presence from Redis failed", exc_info=True)
        return 0
    total, now = 0, time.time()
    for origin, value in reports.items():
        count, _sep, stamp = value.decode().partition(":")
        # A process that died stops reporting: its last count ages out.
        if origin.decode() != own_origin and now - float(stamp or 0) <= PRESENCE_TTL:
            total += int(count or 0)
    return total


def publish_sync(body: list[Any], *, key: str = "d") -> None:
    """From a process with no event loop (a management command): straight to Redis."""
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        client.publish(REDIS_CHANNEL, encode({"o": "sync", key: body}))
    finally:
        client.close()
