"""Votes over the socket: one writer per process, answers only after commit.

`vote.cast` frames go into a queue. One asyncio task takes everything pending (up to
plugs.WRITER_BATCH_MAX), applies it with the writer the debate plugged in (`votes`: ONE
transaction, one database_sync_to_async call), and only then answers each vote with
`vote.acknowledged` (committed; with the poll version whose snapshot shows it) or `vote.refused`
(with the reason). If the batch fails, its votes are retried one by one, so one bad row never
costs the others; a vote that still fails is refused with the debate's `vote_not_saved`. The
HTTP paths call the debate's own service for one vote, with the same rules.

The queue holds at most one vote per attendee and poll (only the last vote counts): a newer one
takes the queued one's place and turn, and the one it replaced, never written, is answered at
once with `vote.replaced` ({"ref", "poll"}): not acknowledged (it was not committed) and not
refused (the attendee's newer vote is on its way and gets its own answer). A vote being written
is not replaced: a newer one queues behind it. The queue never holds more than WRITER_QUEUE_MAX
votes, nor more than ATTENDEE_QUEUE_MAX of one attendee (poll ids are the client's word until
the writer checks them); a vote beyond either is refused with VOTE_QUEUE_FULL, never dropped. `votes_queued()`
reads its size.

A ballot is the debate's object; the writer reads its `attendee_id`, `poll_id` and `side` only.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter
from typing import Any

from channels.db import database_sync_to_async
from django.utils import translation
from django.utils.translation import gettext_lazy

from debates.live import plugs, protocol, transport

log = logging.getLogger(__name__)

# Votes waiting for the writer, at most: one per attendee and poll is the most an honest crowd
# queues, and one process holds 10,000 sockets (BENCHMARKS.md). About 4 MB when full.
WRITER_QUEUE_MAX = 10_000
# Votes of one attendee waiting at once, over all polls: an honest page has one poll open, two
# at most. A script naming made-up poll ids would otherwise fill the whole queue (red team).
ATTENDEE_QUEUE_MAX = 3

VOTE_QUEUE_FULL = gettext_lazy("Too many votes are waiting to be saved. Please vote again.")


async def send_text(consumer: Any, message: dict[str, Any]) -> None:
    """An answer to one socket, the way the hub's fan-out writes a frame (transport.send_frame:
    straight to the kernel buffer, in order behind anything queued, else daphne's send). At
    thousands of votes a second daphne's send per answer was a large share of the loop."""
    text = protocol.encode(message)
    try:
        await transport.send_frame(
            consumer, transport.text_frame(text), {"type": "websocket.send", "text": text}
        )
    except Exception:
        log.debug("send to a closed socket dropped", exc_info=True)


class VoteWriter:
    """One per process: commits pending socket votes in one transaction, then answers them.

    The queue is keyed by (attendee, poll), oldest first: at most one vote each, at most
    WRITER_QUEUE_MAX in all (see the module notes).
    """

    def __init__(self, hub: Any) -> None:
        self.hub = hub
        self.queue: dict[tuple[int, int], tuple[Any, Any, str]] = {}
        self.per_attendee: Counter[int] = Counter()  # queued votes per attendee
        self.task: asyncio.Task | None = None

    async def submit(self, consumer: Any, ballot: Any, ref: str) -> None:
        key = (ballot.attendee_id, ballot.poll_id)
        older = self.queue.get(key)
        if older is None and (
            len(self.queue) >= WRITER_QUEUE_MAX
            or self.per_attendee[ballot.attendee_id] >= ATTENDEE_QUEUE_MAX
        ):
            with translation.override(getattr(consumer, "language", None)):
                reason = str(VOTE_QUEUE_FULL)
            await send_text(
                consumer, protocol.vote_refused(ref=ref, poll=ballot.poll_id, reason=reason)
            )
            return
        self.queue[key] = (consumer, ballot, ref)  # a replacement keeps the older one's turn
        if older is None:
            self.per_attendee[ballot.attendee_id] += 1
        if self.task is None:
            self.task = self.hub.spawn(self.run())
        if older is not None:
            await send_text(older[0], protocol.vote_replaced(ref=older[2], poll=ballot.poll_id))

    async def run(self) -> None:
        try:
            while self.queue:
                size = plugs.fanout().batch_max
                batch = [self.queue.pop(key) for key in list(itertools.islice(self.queue, size))]
                for _consumer, ballot, _ref in batch:
                    self.per_attendee[ballot.attendee_id] -= 1
                    if self.per_attendee[ballot.attendee_id] <= 0:
                        del self.per_attendee[ballot.attendee_id]
                reasons, versions = await self.write([ballot for _, ballot, _ in batch])
                for (consumer, ballot, ref), reason in zip(batch, reasons, strict=True):
                    if reason is None:
                        answer = protocol.vote_acknowledged(
                            ref=ref,
                            poll=ballot.poll_id,
                            side=ballot.side,
                            version=versions[ballot.poll_id],
                        )
                    else:
                        # A reason may be lazy (gettext_lazy): worded in this socket's language.
                        with translation.override(getattr(consumer, "language", None)):
                            text = str(reason)
                        answer = protocol.vote_refused(ref=ref, poll=ballot.poll_id, reason=text)
                    await send_text(consumer, answer)
        finally:
            self.task = None

    async def write(self, ballots: list[Any]) -> tuple[list[str | None], dict[int, int]]:
        """(reason or None per ballot, committed version per poll)."""
        cast = database_sync_to_async(plugs.plugged.votes)
        try:
            return await cast(ballots)
        except Exception:
            log.exception("live: a batch of %d votes failed; retrying one by one", len(ballots))
        reasons: list[str | None] = []
        versions: dict[int, int] = {}
        for ballot in ballots:
            try:
                one_reasons, one_versions = await cast([ballot])
            except Exception:
                log.exception("live: a vote could not be saved")
                reasons.append(plugs.plugged.vote_not_saved)
                continue
            reasons += one_reasons
            versions |= one_versions
        return reasons, versions
