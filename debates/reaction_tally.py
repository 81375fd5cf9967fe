"""Reaction taps summed in memory, one tally per process, flushed every FLUSH_INTERVAL.

Why not a row per tap: 5,000 attendees tapping once a second would be 5,000 writes a second.
Here a tap costs a dict update on the event loop (the socket path) or in a view's thread (the
HTTP fallback; a lock makes both safe). One flusher task on the process's event loop hands the
sums to debates.services.reactions.reactions_flush every FLUSH_INTERVAL seconds, in ONE
transaction, which then marks the "reactions" snapshot dirty (coalesced by the hub like a
tally). With REDIS_URL every process flushes its own sums into the same rows.

Rate limit: a token bucket per attendee (RATE a second, BURST at once). A tap beyond it is
dropped silently: a reaction is a mood, not a vote, and nobody is told off for enthusiasm.
If a flush fails, its sums are put back and retried at the next one: nothing accepted is lost
while the process lives.

After an event's last taps the meter must fall back: the flusher keeps marking the event's
snapshot changed, once per FLUSH_INTERVAL, until services.reactions.METER_SECONDS have passed.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
from collections import Counter
from datetime import datetime

from channels.db import database_sync_to_async
from django.utils import timezone

from debates import live
from debates.live import hub as live_hub
from debates.services import reactions

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 2.0  # seconds between two flushes (and two meter snapshots) per process
RATE = 2.0  # taps an attendee earns per second
BURST = 4  # taps an attendee may send at once

Key = tuple[int, datetime, str]


class Tally:
    """This process's taps not yet written, and each attendee's bucket."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.taps: Counter[Key] = Counter()
        self.new_people: Counter[Key] = Counter()
        self.seen: dict[Key, set[int]] = {}  # who tapped, per bucket still open (small sets)
        self.buckets: dict[int, tuple[float, float]] = {}  # attendee -> (tokens, stamp)
        self.accepted = 0  # taps accepted so far (the bench compares it with the database)
        self.dropped = 0
        self.written = 0
        self.fresh: dict[int, float] = {}  # event -> monotonic time of its last flushed taps
        self.task: asyncio.Task | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def tap(
        self, *, event_id: int, attendee_id: int, kind: str, at: datetime | None = None
    ) -> bool:
        """Counts one tap; False (and nothing counted) beyond the attendee's rate."""
        now = time.monotonic()
        key = (event_id, reactions.bucket_of(at or timezone.now()), kind)
        with self.lock:
            tokens, stamp = self.buckets.get(attendee_id, (float(BURST), now))
            tokens = min(float(BURST), tokens + (now - stamp) * RATE)
            if tokens < 1.0:
                self.buckets[attendee_id] = (tokens, now)
                self.dropped += 1
                return False
            self.buckets[attendee_id] = (tokens - 1.0, now)
            self.taps[key] += 1
            seen = self.seen.setdefault(key, set())
            if attendee_id not in seen:
                seen.add(attendee_id)
                self.new_people[key] += 1
            self.accepted += 1
        return True

    def take(self) -> dict[Key, tuple[int, int]]:
        """The sums so far, handed over (and forgotten here)."""
        with self.lock:
            sums = {key: (n, self.new_people.get(key, 0)) for key, n in self.taps.items()}
            self.taps.clear()
            self.new_people.clear()
            self._prune(time.monotonic())
        return sums

    def put_back(self, sums: dict[Key, tuple[int, int]]) -> None:
        with self.lock:
            for key, (n, people) in sums.items():
                self.taps[key] += n
                self.new_people[key] += people

    def _prune(self, now: float) -> None:
        # Buckets of attendees idle long enough to be full again, and "seen" sets of closed time
        # buckets: memory stays bounded by the attendees tapping now.
        idle = BURST / RATE
        for attendee_id in [a for a, (_t, s) in self.buckets.items() if now - s > idle]:
            del self.buckets[attendee_id]
        current = reactions.bucket_of(timezone.now())
        for key in [k for k in self.seen if k[1] < current - reactions.BUCKET]:
            del self.seen[key]

    def flush(self) -> int:
        """Writes the sums now (sync: a view's thread, a test, the flusher's worker thread)."""
        sums = self.take()
        if not sums:
            return 0
        try:
            written = reactions.reactions_flush(sums=sums)
        except Exception:
            self.put_back(sums)
            raise
        now = time.monotonic()
        with self.lock:
            self.written += written
            for event_id in {key[0] for key in sums}:
                self.fresh[event_id] = now
        return written

    # ------------------------------------------------------------ the flusher (event loop)

    def wake(self) -> None:
        """Starts the flusher on the running loop if it is not running (call on the loop)."""
        loop = asyncio.get_running_loop()
        if self.task is not None and not self.task.done() and self.loop is loop:
            return
        self.loop = loop
        self.task = live_hub.current().spawn(self.run())  # cancelled with the hub

    async def run(self) -> None:
        flush = database_sync_to_async(self.flush)
        while True:
            await asyncio.sleep(FLUSH_INTERVAL)
            try:
                await flush()
            except Exception:
                log.exception("reactions: a flush failed; its taps are kept for the next one")
            now = time.monotonic()
            with self.lock:
                fading = [e for e, at in self.fresh.items() if now - at < FLUSH_INTERVAL]
                decaying = [
                    e for e, at in self.fresh.items() if now - at <= reactions.METER_SECONDS
                ]
                for event_id in [e for e in self.fresh if e not in decaying]:
                    del self.fresh[event_id]
                idle = not self.taps and not decaying
            # A fresh flush announced itself; an event whose taps stopped gets its meter re-read
            # until its window has passed, so the projector's meter falls back to calm.
            for event_id in decaying:
                if event_id not in fading:
                    live.changed(reactions.KIND, event_id)
            if idle:
                return


_tally = Tally()


def tally() -> Tally:
    return _tally


def tap_on_loop(*, event_id: int, attendee_id: int, kind: str) -> bool:
    """A socket's tap (on the event loop): counted, and the flusher woken."""
    accepted = _tally.tap(event_id=event_id, attendee_id=attendee_id, kind=kind)
    if accepted:
        _tally.wake()
    return accepted


def tap_from_thread(*, event_id: int, attendee_id: int, kind: str) -> bool:
    """An HTTP tap (a view's thread): counted; the process's loop flushes it, or, with no loop
    in this process (a management command, the sync test client), it is written at once."""
    accepted = _tally.tap(event_id=event_id, attendee_id=attendee_id, kind=kind)
    if not accepted:
        return False
    loop = live_hub.main_loop()
    if loop is not None:
        loop.call_soon_threadsafe(_tally.wake, context=contextvars.Context())
    else:
        _tally.flush()
    return True
