"""`python -m bench.run reactions`: N attendees (default 5,000, prejoined) tap a reaction once a
second for D seconds (default 30) over their sockets (issue 15 §4).

What must hold: server CPU stays bounded (taps are summed in memory per process and flushed in
ONE transaction every couple of seconds: debates.reaction_tally), at most a few
`reactions.updated` snapshots a second per event reach each socket (an observer socket counts
them), RSS grows little, and the totals persisted in the database equal the taps accepted. The
clients tap at 1/s, under the per-attendee limit (2/s, 4 at once), so every tap sent is accepted:
the persisted total must equal the taps sent.

The worker command "taps" (bench.client dispatches it here) runs in each client worker.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import time
from collections import Counter
from typing import Any

from websockets.asyncio.client import connect

KINDS = ("agree", "unconvinced", "unclear")
TAP_SECONDS = 30.0
SETTLE_SECONDS = 6.0  # after the last tap: two flushes and the last snapshot


# ---------------------------------------------------------------------- in a client worker


async def taps(
    worker: Any, *, start: float, seconds: float, rate: float = 1.0, observe: bool = False
) -> dict:
    """Every connected attendee of this worker taps at `rate` a second from `start` for
    `seconds`; with `observe`, one more socket (the first attendee's second tab) counts the
    reactions.updated snapshots it is sent until SETTLE_SECONDS after the end."""
    connected = [a for a in worker.attendees.values() if a.ws is not None]
    sent: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    until = start + seconds

    async def tapper(att: Any) -> None:
        period = 1.0 / rate
        at = start + random.uniform(0, period)
        while at < until:
            delay = at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            ws = att.ws
            if ws is None:
                errors["not connected"] += 1
            else:
                kind = random.choice(KINDS)
                try:
                    await ws.send(json.dumps({"type": "reaction.tap", "reaction": kind}))
                    sent[kind] += 1
                except Exception as exc:
                    errors[type(exc).__name__] += 1
            at += period

    observed: dict = {}

    async def observer() -> None:
        if not connected:
            return
        ws = await connect(
            worker.ws_url,
            additional_headers={"Cookie": connected[0].cookie},
            origin=worker.origin,
            compression=None,
            ping_interval=None,
            open_timeout=60,
            max_queue=None,
            user_agent_header=None,
        )
        times: list[float] = []
        last: dict = {}
        end = until + SETTLE_SECONDS
        try:
            while (left := end - time.monotonic()) > 0:
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=left)
                except TimeoutError:
                    break
                message = json.loads(raw)
                if message.get("type") == "reactions.updated":
                    now = time.monotonic()
                    if start <= now:
                        times.append(now)
                    last = message
        finally:
            await ws.close()
        observed.update(snapshot_times=times, last=last)

    jobs = [tapper(att) for att in connected]
    if observe:
        jobs.append(observer())
    await asyncio.gather(*jobs)
    return {"tappers": len(connected), "sent": dict(sent), "errors": dict(errors)} | observed


# ---------------------------------------------------------------------- the coordinator


def scenario(args: argparse.Namespace) -> dict:
    from bench.run import harness, log, target

    n = args.attendees or 5000
    seconds = args.duration or TAP_SECONDS
    args.prejoined = True
    with harness(args, n) as h:
        joined = h.join(n, args.join_seconds or 30)
        time.sleep(2)
        rss_before = [p.rss_bytes() for p in h.server.procs]
        log(f"{joined['connected_total']} attendees tap once a second for {seconds:.0f} s")
        go = time.monotonic() + 1.0
        with h.measure() as m:
            replies = h.call(
                [
                    {"cmd": "taps", "start": go, "seconds": seconds, "observe": i == 0}
                    for i in range(h.workers)
                ],
                timeout=seconds + SETTLE_SECONDS + 120,
            )
        rss_after = [p.rss_bytes() for p in h.server.procs]
        rows = h.server.query(
            "SELECT kind, SUM(taps) FROM debates_reactioncount GROUP BY kind ORDER BY kind"
        )
    persisted = dict.fromkeys(KINDS, 0) | {kind: int(total) for kind, total in rows}
    sent: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for reply in replies:
        sent.update(reply["sent"])
        errors.update(reply["errors"])
    sent_by_kind = {kind: sent.get(kind, 0) for kind in KINDS}
    observed = replies[0]
    times = observed.get("snapshot_times", [])
    span = seconds + SETTLE_SECONDS
    per_second = round(len(times) / span, 2) if span else None
    gaps = [b - a for a, b in itertools.pairwise(times)]
    taps_total = sum(sent_by_kind.values())
    log(
        f"taps: {taps_total} sent, {sum(persisted.values())} persisted; "
        f"{len(times)} meter snapshots on one socket ({per_second}/s)"
    )
    return {
        "attendees": n,
        "join": joined,
        "taps": {
            "sent": taps_total,
            "sent_per_s": round(taps_total / seconds, 1),
            "sent_by_kind": sent_by_kind,
            "errors": dict(errors),
            "persisted_by_kind": persisted,
            "persisted_equals_sent": persisted == sent_by_kind,
        },
        "snapshots": {
            "received_by_one_socket": len(times),
            "per_second_per_event": per_second,
            "shortest_gap_s": round(min(gaps), 3) if gaps else None,
            "last_totals": observed.get("last", {}).get("totals"),
        },
        "server": m.result,
        "rss_growth_mb": [
            round((after - before) / 2**20, 1)
            for before, after in zip(rss_before, rss_after, strict=True)
        ],
        "targets": {
            "persisted_equals_sent": target(int(persisted == sent_by_kind), 1, at_most=False),
            "snapshots_per_second_per_event": target(per_second, 4),
            "server_cpu_percent": target(max(m.result["server_cpu_percent"] or [0]), 100),
        },
    }
