"""The harness: `python -m bench.run <scenario> [--cluster] [options]` prints one JSON report.

Scenarios (BENCHMARKS.md has the commands and the latest figures):
  smoke     300 attendees, a burst and a few seconds of changes; correctness only (make test)
  sockets   10,000 attendees join over 60 s and stay connected (RSS per socket, CPU)
  storm     2,000 attendees join within 5 s; every one must end up connected
  burst     5,000 attendees each vote once within 10 s, then a rising sustained rate
  latency   vote-to-every-screen at 200 votes/s with 2,000 then 5,000 sockets
  baseline  3,000 sockets, 5 votes/s: group_send per vote (bench/baseline.py) vs snapshots
  cluster   2 daphne processes + PostgreSQL + Redis + nginx: burst correctness and latency
  flood     one socket floods vote.cast for 20 s beside 50 innocent voters (bench.flood)
  joincost  server CPU per page of the join flow, code and QR (bench.joincost)
  scaleout  CPU per joined attendee and per vote, one process against the 2-process cluster
  floor     CPU of a static file, a 404, the health check and bare sockets: the stack's floor
  fuzz      10,500 generated hostile frames into the socket consumer, in-process (bench.fuzz)
  writer    the socket vote writer's transaction: CPU per vote, in-process (bench.writer)
  reactions 5,000 prejoined attendees tap a reaction once a second for 30 s (bench.reactions)

The server is started by the harness: embedded (one daphne, SQLite, in-memory layer) unless
--cluster. Progress goes to stderr, the report to stdout (and --out).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from bench import report
from bench.harness import Harness, log
from bench.launcher import raise_nofile
from bench.server import Server, start_cluster, start_embedded


def target(value: float | None, limit: float, *, at_most: bool = True) -> dict:
    met = value is not None and (value <= limit if at_most else value >= limit)
    return {"value": value, "target": f"{'<=' if at_most else '>='} {limit}", "met": met}


def server_for(args: argparse.Namespace, *, fanout: str = "") -> Server:
    if args.cluster:
        log("starting the cluster: PostgreSQL database, Redis, 2 daphne, nginx")
        return start_cluster(processes=args.processes, fanout=fanout)
    log(f"starting one embedded daphne{' serving the ' + fanout + ' baseline' if fanout else ''}")
    return start_embedded(fanout=fanout)


def workers_for(args: argparse.Namespace, attendees: int) -> int:
    return args.workers or max(1, min(4, math.ceil(attendees / 2500)))


@contextmanager
def harness(
    args: argparse.Namespace, attendees: int, *, fanout: str = "", fixture: dict | None = None
):
    server = server_for(args, fanout=fanout)
    h = None
    try:
        prejoin = attendees if getattr(args, "prejoined", False) else 0
        if prejoin:
            log(f"making {prejoin} attendees and their sessions beforehand (--prejoined)")
        h = Harness(server, workers_for(args, attendees), prejoin=prejoin, fixture=fixture)
        yield h
    finally:
        if h is not None:
            h.stop()
        server.stop()


def burst_offsets(n: int, window: float) -> list[float]:
    return sorted(random.uniform(0, window) for _ in range(n))


def steady_offsets(rate: float, seconds: float) -> list[float]:
    return [i / rate for i in range(int(rate * seconds))]


def idle_rss_then_join(h: Harness, n: int, seconds: float) -> dict:
    """Joins a few attendees to warm the server, reads its RSS, then joins the rest."""
    warm = min(20, n)
    h.join(warm, 1)
    rss0 = [p.rss_bytes() for p in h.server.procs]
    joined = h.join(n - warm, seconds)
    rss1 = [p.rss_bytes() for p in h.server.procs]
    sockets = max(1, joined["connected_total"] - warm)
    joined["rss_kb_per_socket"] = round((sum(rss1) - sum(rss0)) / sockets / 1024, 1)
    joined["rss_mb_before"] = [round(r / 2**20, 1) for r in rss0]
    return joined


# ---------------------------------------------------------------------- scenarios


def scenario_smoke(args: argparse.Namespace) -> dict:
    n = args.attendees or 300
    with harness(args, n) as h:
        joined = h.join(n, 3)
        burst = h.vote(burst_offsets(joined["connected_total"], 2), once=True, settle_timeout=30)
        changes = h.vote(steady_offsets(100, 3), once=False, settle_timeout=30)
    ok = (
        joined["connected_total"] == n
        and burst["votes"]["acknowledged"] == n
        and burst["votes"]["lost_or_unanswered"] == 0
        and changes["votes"]["lost_or_unanswered"] == 0
        and changes["tally"]["every_screen_shows_recount"]
        and changes["tally"]["acknowledged_equals_recount"]
    )
    return {"ok": ok, "join": joined, "burst": burst, "changes": changes}


def scenario_sockets(args: argparse.Namespace) -> dict:
    n = args.attendees or 10_000
    seconds = args.join_seconds or 60
    with harness(args, n) as h:
        joined = idle_rss_then_join(h, n, seconds)
        log("holding the sockets for 15 s")
        with h.measure() as m:
            time.sleep(15)
        held = sum(r["connected"] for r in h.status())
        tally = h.settle(30)
    return {
        "join": joined,
        "held_after_15s": held,
        "idle": m.result,
        "tally": tally,
        "targets": {
            "all_connected": target(held, n, at_most=False),
            "rss_kb_per_socket": target(joined["rss_kb_per_socket"], 40),
            # Issue 14: through the whole flow (no --prejoined), within 60 s.
            "last_connected_s": target(joined["finished_after_s"], seconds),
            "no_request_over_30s": target(joined["http_waits_over_30s"], 0),
        },
    }


def scenario_storm(args: argparse.Namespace) -> dict:
    n = args.attendees or 2000
    seconds = args.join_seconds or 5
    with harness(args, n) as h:
        joined = h.join(n, seconds, retries=10)
        held = sum(r["connected"] for r in h.status())
        tally = h.settle(30)
    return {
        "join": joined,
        "connected_at_end": held,
        "tally": tally,
        "targets": {
            "all_connected": target(held, n, at_most=False),
            # Issue 14: a storm of 2,000 all connected within 10 s; 5,000 degrade, never
            # collapse (--attendees 5000: everyone connected, no request waiting over 30 s).
            "last_connected_s": target(joined["finished_after_s"], 10),
            "no_request_over_30s": target(joined["http_waits_over_30s"], 0),
        },
    }


# Issue 14: a rate is sustained when nothing is lost, every screen ends on the recount and the
# acknowledgements' p99 is at most 1 s (issue 7 allowed 2 s).
SUSTAINED_ACK_P99_MS = 1000


def sustained(h: Harness, rates: list[int], seconds: float) -> dict:
    steps = []
    best = None
    for rate in rates:
        log(f"sustained: {rate} votes/s for {seconds:.0f} s")
        step = h.vote(steady_offsets(rate, seconds), once=False, settle_timeout=60)
        v = step["votes"]
        kept_up = (
            v["lost_or_unanswered"] == 0
            and v["skipped_no_free_attendee"] == 0
            and v["sent_per_s"] is not None
            and v["sent_per_s"] >= 0.95 * rate
            and v["ack_ms"]["p99"] is not None
            and v["ack_ms"]["p99"] <= SUSTAINED_ACK_P99_MS
            and step["tally"]["every_screen_shows_recount"]
            and step["tally"]["acknowledged_equals_recount"]
        )
        steps.append({"rate": rate, "kept_up": kept_up} | step)
        if not kept_up:
            break
        best = rate
    return {"highest_rate_nothing_lost_ack_p99_1s": best, "steps": steps}


def scenario_burst(args: argparse.Namespace) -> dict:
    n = args.attendees or 5000
    with harness(args, n) as h:
        joined = h.join(n, args.join_seconds or 40)
        burst = h.vote(burst_offsets(joined["connected_total"], 10), once=True)
        steady = sustained(h, args.rates, args.duration or 10)
    b = burst["votes"]
    return {
        "join": joined,
        "burst": burst,
        "sustained": steady,
        "targets": {
            "burst_all_answered": target(b["lost_or_unanswered"], 0),
            "burst_ack_p99_ms": target(b["ack_ms"]["p99"], 2000),
            "burst_tally_equals_recount": target(
                int(burst["tally"]["every_screen_shows_recount"]), 1, at_most=False
            ),
            "sustained_votes_per_s": target(
                steady["highest_rate_nothing_lost_ack_p99_1s"], 2000, at_most=False
            ),
        },
    }


def latency_at(h: Harness, sockets: int, rate: float, seconds: float, join_seconds: float) -> dict:
    have = sum(r["connected"] for r in h.status())
    joined = h.join(sockets - h.joined, join_seconds) if sockets > h.joined else None
    run = h.vote(steady_offsets(rate, seconds), once=False)
    return {"sockets_before": have, "join": joined, "rate": rate} | run


def scenario_latency(args: argparse.Namespace) -> dict:
    sizes = args.sizes or [2000, 5000]
    rate = args.rate or 200
    limits = {2000: 400, 5000: 1000, 10000: 1500}  # issue 14: p99 <= 1.5 s at 10,000
    with harness(args, max(sizes)) as h:
        runs = {
            str(n): latency_at(h, n, rate, args.duration or 20, args.join_seconds or 30)
            for n in sizes
        }
    return {
        "runs": runs,
        "targets": {
            f"screen_p99_ms_{n}": target(runs[n]["screens"]["latency_ms"]["p99"], limits[int(n)])
            for n in runs
            if int(n) in limits
        },
    }


def scenario_baseline(args: argparse.Namespace) -> dict:
    n = args.attendees or 3000
    rate = args.rate or 5
    out = {}
    for name, fanout in (("group_send", "group_send"), ("snapshots", "")):
        with harness(args, n, fanout=fanout) as h:
            out[name] = latency_at(h, n, rate, args.duration or 20, args.join_seconds or 30)
    base = out["group_send"]["screens"].get("latency_ms", {}).get("p99")
    ours = out["snapshots"]["screens"].get("latency_ms", {}).get("p99")
    never = out["group_send"]["screens"].get("votes_never_on_every_screen", 0)
    ratio = round(base / max(ours, 1.0), 1) if base and ours is not None else None
    return {
        "runs": out,
        "p99_ratio_group_send_over_snapshots": ratio,
        "note": (
            f"{never} measured votes never reached every group_send screen within the drain "
            "time; the ratio is a lower bound"
            if never
            else ""
        ),
        "targets": {"p99_ratio": target(ratio, 10, at_most=False)},
    }


def scenario_cluster(args: argparse.Namespace) -> dict:
    args.cluster = True
    n = args.attendees or 5000
    with harness(args, n) as h:
        joined = h.join(n, args.join_seconds or 40)
        burst = h.vote(burst_offsets(joined["connected_total"], 10), once=True)
        steady = h.vote(steady_offsets(args.rate or 200, args.duration or 20), once=False)
    routes = steady["screens"].get("by_route", {})
    return {
        "join": joined,
        "burst": burst,
        "latency": steady,
        "targets": {
            "burst_all_answered": target(burst["votes"]["lost_or_unanswered"], 0),
            "burst_tally_equals_recount": target(
                int(burst["tally"]["every_screen_shows_recount"]), 1, at_most=False
            ),
            "both_processes_hold_sockets": target(len(joined["backends"]), 2, at_most=False),
            "every_route_delivers": target(len(routes), 4, at_most=False),
            "screen_p99_ms": target(steady["screens"].get("latency_ms", {}).get("p99"), 1500),
        },
    }


def scenario_flood(args: argparse.Namespace) -> dict:
    from bench import flood

    return flood.scenario(args)


def scenario_joincost(args: argparse.Namespace) -> dict:
    from bench import joincost

    server = server_for(args)
    try:
        return joincost.scenario(server, server.fixture(), args.attendees or 400)
    finally:
        server.stop()


def scenario_scaleout(args: argparse.Namespace) -> dict:
    """Issue 14's scale-out efficiency: server CPU per joined attendee (bench.joincost, the
    whole flow) and per vote (a sustained rate over prejoined sockets, fan-out included), on
    one embedded process and on the 2-process cluster, each the sum over its daphne
    processes; the cluster's must be at most 1.25 times the single process's. The relay's
    overhead is what the difference measures (Redis, nginx and PostgreSQL are not counted:
    `other_cpu_percent` shows them)."""
    from bench import joincost

    n = args.attendees or 2000
    rate = args.rate or 500
    seconds = args.duration or 10
    out: dict = {}
    for mode in ("embedded", "cluster"):
        args.cluster = mode == "cluster"
        server = server_for(args)
        try:
            joined = joincost.scenario(server, server.fixture(), 400)
        finally:
            server.stop()
        with harness(argparse.Namespace(**{**vars(args), "prejoined": True}), n) as h:
            h.join(n, 20)
            votes = h.vote(steady_offsets(rate, seconds), once=False)
        out[mode] = {
            "join_cpu_ms_per_attendee": max(joined[f]["per_attendee_ms"] for f in ("code", "qr")),
            "vote_cpu_ms_per_vote": votes["votes"]["server_cpu_ms_per_vote"],
            "votes": votes["votes"],
            "joincost": joined,
        }
    args.cluster = False
    ratios = {
        figure: round(out["cluster"][figure] / out["embedded"][figure], 2)
        for figure in ("join_cpu_ms_per_attendee", "vote_cpu_ms_per_vote")
    }
    return {
        "sockets": n,
        "rate": rate,
        "runs": out,
        "cluster_over_embedded": ratios,
        "targets": {f"{k}_ratio": target(v, 1.25) for k, v in ratios.items()},
    }


def scenario_floor(args: argparse.Namespace) -> dict:
    from bench import floor

    server = server_for(args)
    try:
        return floor.scenario(server, server.fixture(), args.attendees or 1000)
    finally:
        server.stop()


def scenario_fuzz(args: argparse.Namespace) -> dict:
    from bench import fuzz

    return fuzz.scenario(args)


def scenario_writer(args: argparse.Namespace) -> dict:
    from bench import writer

    return writer.scenario(args)


def scenario_reactions(args: argparse.Namespace) -> dict:
    from bench import reactions

    return reactions.scenario(args)


SCENARIOS = {
    "smoke": scenario_smoke,
    "sockets": scenario_sockets,
    "storm": scenario_storm,
    "burst": scenario_burst,
    "latency": scenario_latency,
    "baseline": scenario_baseline,
    "cluster": scenario_cluster,
    "flood": scenario_flood,
    "fuzz": scenario_fuzz,
    "joincost": scenario_joincost,
    "scaleout": scenario_scaleout,
    "floor": scenario_floor,
    "writer": scenario_writer,
    "reactions": scenario_reactions,
}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument(
        "--cluster", action="store_true", help="2 daphne on PostgreSQL + Redis behind nginx"
    )
    parser.add_argument("--processes", type=int, default=2, help="daphne processes in --cluster")
    parser.add_argument("--attendees", type=int, default=0, help="sockets (scenario default)")
    parser.add_argument("--join-seconds", type=float, default=0, help="pace the joins over this")
    parser.add_argument("--rate", type=float, default=0, help="votes per second")
    parser.add_argument("--duration", type=float, default=0, help="seconds of voting per step")
    parser.add_argument("--sizes", type=int, nargs="*", help="latency: socket counts to measure")
    parser.add_argument(
        "--rates",
        type=int,
        nargs="*",
        default=[500, 1000, 1500, 2000, 2500, 3000],
        help="burst: the sustained rates to try, in order",
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="client processes (default: 1 per 2,500)"
    )
    parser.add_argument(
        "--prejoined",
        action="store_true",
        help="make the attendees and sessions beforehand: the timed joins only open sockets",
    )
    parser.add_argument("--frames", type=int, default=0, help="fuzz: frames (default 10,500)")
    parser.add_argument("--seed", type=int, default=0, help="fuzz, writer: the random seed")
    parser.add_argument("--batch", type=int, default=0, help="writer: ballots per transaction")
    parser.add_argument("--batches", type=int, default=0, help="writer: batches of changes")
    parser.add_argument("--out", type=Path, help="also write the JSON report here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    # `timeout` or Ctrl-C: unwind, so the servers, nginx and workers are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    raise_nofile()
    started = time.time()
    machine = report.machine()
    result = SCENARIOS[args.scenario](args)
    document = {
        "scenario": args.scenario,
        "mode": "cluster" if args.cluster else "embedded",
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "wall_seconds": round(time.time() - started, 1),
        "machine": machine,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    } | result
    text = json.dumps(document, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
