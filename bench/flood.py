"""`python -m bench.run flood`: one socket floods `vote.cast` while innocent attendees vote.

Issue 11 (a red team's finding): same-side `vote.cast` frames cost the vote rate limit nothing,
so one socket sent 414,035 frames in 40 s, daphne grew from 85 MB to 310 MB and an innocent
voter's acknowledgement took up to 3.9 s. What must hold now: the flooding socket is closed
with 4429 (debates.live.CLOSE_TOO_MANY_FRAMES), daphne's RSS grows by less than 20 MB, the
innocent voters' acknowledgements stay under p99 500 ms, and the final tally equals a recount.

Two client workers: the first holds the innocent attendees and votes at an even rate (their
acknowledgement times are measured), the second holds the flooder, which sends the same frame
as fast as it can for the whole run and reconnects at once whenever it is closed. The
coordinator samples daphne's RSS from /proc every 0.1 s meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench import report

FLOOD_SECONDS = 20.0
INNOCENTS = 50
INNOCENT_RATE = 10.0  # votes per second among them: ~4 each in 20 s, far under 30 a minute
WARM_UP_SECONDS = 3.0
SETTLE_SECONDS = 5.0  # after the flood, before "after" is read: the writer drains, GC runs
RSS_TARGET_MB = 20
ACK_P99_TARGET_MS = 500


# ---------------------------------------------------------------------- the flooder (a worker)


async def flood(worker: Any, *, start: float, seconds: float, side: str = "for") -> dict:
    """The worker's first attendee floods one frame for `seconds`, reconnecting when closed.

    Its own connections, besides the attendee's normal socket (which stays open, like a
    second tab, and shows the tally at the end).
    """
    attendee = next(iter(worker.attendees.values()))
    frame = json.dumps({"type": "vote.cast", "poll": worker.poll_id, "side": side, "ref": "f"})
    delay = start - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
    until = start + seconds
    sent = connections = 0
    codes: Counter[str] = Counter()
    answers: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    while time.monotonic() < until:
        try:
            ws = await _connect(worker, attendee.cookie)
        except Exception as exc:
            errors[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1
            await asyncio.sleep(0.05)
            continue
        connections += 1
        reader = asyncio.create_task(_count_answers(ws, answers))
        try:
            while time.monotonic() < until:
                await ws.send(frame)
                sent += 1
                if sent % 64 == 0:
                    await asyncio.sleep(0)  # let the reader see the close
        except ConnectionClosed:
            pass
        if time.monotonic() >= until:
            await ws.close()
        await reader
        codes[str(ws.close_code)] += 1
    # Closed at once, the flooder hears no acknowledgement, though the votes it sent before the
    # close were saved: what the server holds for it is what a reconnect's you.synced says.
    ws = await _connect(worker, attendee.cookie)
    async for raw in ws:
        message = json.loads(raw)
        if message.get("type") == "you.synced":
            attendee.side = message["votes"].get(str(worker.poll_id))
            break
    await ws.close()
    return {
        "side_held_after": attendee.side,
        "frames_sent": sent,
        "seconds": seconds,
        "frames_per_s": round(sent / seconds, 1),
        "connections": connections,
        "close_codes": dict(codes),
        "answers": dict(answers),
        "errors": dict(errors),
    }


async def _connect(worker: Any, cookie: str) -> ClientConnection:
    return await connect(
        worker.ws_url,
        additional_headers={"Cookie": cookie},
        origin=worker.origin,
        compression=None,
        ping_interval=None,
        open_timeout=10,
        close_timeout=2,
        max_queue=None,  # never stop reading: the server's close frame must get through
        user_agent_header=None,
    )


async def _count_answers(ws: ClientConnection, answers: Counter[str]) -> None:
    try:
        async for raw in ws:
            answers[json.loads(raw).get("type", "?")] += 1
    except ConnectionClosed:
        pass


# ---------------------------------------------------------------------- the scenario


def scenario(args: argparse.Namespace) -> dict:
    from bench.run import harness, log, steady_offsets, target

    seconds = args.duration or FLOOD_SECONDS
    innocents = args.attendees or INNOCENTS
    rate = args.rate or INNOCENT_RATE
    args.workers = 2
    # "open" admission: the standing join code admits, as before the screen-code join flow.
    with harness(args, innocents + 1, fixture={"admission": "open"}) as h:
        (daphne,) = h.server.procs[:1]
        start = time.monotonic() + 0.5
        joins = h.call(
            [
                _join(list(range(innocents)), start, spacing=0.02),
                _join([innocents], start, spacing=0),
            ],
            timeout=300,
        )
        log(f"joined: {joins[0]['connected']} innocents, {joins[1]['connected']} flooder")
        # Warm up (first votes, first snapshots), then the baseline RSS.
        warm = time.monotonic() + 0.5
        h.call(
            [
                {"cmd": "vote", "start": warm, "times": steady_offsets(rate, WARM_UP_SECONDS)}
                | {"once": False},
                {"cmd": "status"},
            ],
            timeout=120,
        )
        time.sleep(1)
        before = daphne.rss_bytes()
        cpu0 = daphne.cpu_seconds()
        log(f"flooding for {seconds:.0f} s beside {innocents} innocents at {rate:.0f} votes/s")
        go = time.monotonic() + 1.0
        commands = [
            {"cmd": "vote", "start": go, "times": steady_offsets(rate, seconds), "once": False},
            {"cmd": "flood", "start": go, "seconds": seconds},
        ]
        for pipe, command in zip(h.pipes, commands, strict=True):
            pipe.send(command)
        replies: list[dict | None] = [None, None]
        peak = before
        deadline = go + seconds + 180
        while any(r is None for r in replies):
            if time.monotonic() > deadline:
                raise TimeoutError("a client worker did not finish the flood run")
            peak = max(peak, daphne.rss_bytes())
            for i, pipe in enumerate(h.pipes):
                if replies[i] is None and pipe.poll(0.05):
                    replies[i] = pipe.recv()
                    if "error" in replies[i]:
                        raise RuntimeError(f"client worker: {replies[i]['error']}")
        wall = time.monotonic() - go
        cpu = daphne.cpu_seconds() - cpu0
        settle_until = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < settle_until:
            peak = max(peak, daphne.rss_bytes())
            time.sleep(0.1)
        after = daphne.rss_bytes()
        tally = h.settle(30)
    votes, flooded = replies
    results = votes["results"]
    acked = [r for r in results if r[2] == "acknowledged"]
    outcomes = Counter(r[2] for r in results)
    mb = 2**20
    rss = {
        "before": round(before / mb, 1),
        "peak": round(peak / mb, 1),
        "after": round(after / mb, 1),
        "growth_peak_minus_before": round((peak - before) / mb, 1),
    }
    innocent = {
        "attendees": innocents,
        "votes_sent": len(results),
        "rate_per_s": rate,
        "acknowledged": len(acked),
        "other_outcomes": {k: v for k, v in outcomes.items() if k != "acknowledged"},
        "ack_ms": report.percentiles([r[1] - r[0] for r in acked]),
    }
    codes = flooded["close_codes"]
    log(
        f"flood: {flooded['frames_sent']} frames, {flooded['connections']} connections, "
        f"closes {codes}; RSS {rss}; innocent ack {innocent['ack_ms']}"
    )
    closed_4429 = codes.get("4429", 0)
    return {
        "flooder": flooded,
        "innocent": innocent,
        "daphne_rss_mb": rss,
        "daphne_cpu_percent": round(100 * cpu / wall, 1),
        "tally": tally,
        "targets": {
            # All but the last, which the end of the run may cut short.
            "every_flood_connection_closed_4429": target(
                closed_4429, max(1, flooded["connections"] - 1), at_most=False
            ),
            "rss_growth_mb": target(rss["growth_peak_minus_before"], RSS_TARGET_MB),
            "innocent_ack_p99_ms": target(innocent["ack_ms"]["p99"], ACK_P99_TARGET_MS),
            "innocent_all_acknowledged": target(len(acked), len(results), at_most=False),
            "tally_equals_recount": target(
                int(tally["every_screen_shows_recount"] and tally["acknowledged_equals_recount"]),
                1,
                at_most=False,
            ),
        },
    }


def _join(indices: list[int], start: float, *, spacing: float) -> dict:
    return {
        "cmd": "join",
        "indices": indices,
        "start": start,
        "spacing": spacing,
        "retries": 6,
        "cookies": [],
    }
