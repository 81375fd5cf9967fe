"""The load harness behind `python -m bench.run`: a server, client worker processes that join,
hold sockets and vote (bench.client), and the measurements every scenario reports."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import sys
import time
from collections import Counter
from contextlib import contextmanager, suppress

from bench import report
from bench.client import ACK_TIMEOUT, worker_main
from bench.server import Server

# Vote-to-every-screen is worked out for at most this many votes (chosen at random), which keeps
# the analysis to seconds with 5,000 sockets.
SCREEN_SAMPLE = 1500


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Harness:
    """Worker processes full of attendees, all in one event with one open poll."""

    def __init__(
        self, server: Server, workers: int, *, prejoin: int = 0, fixture: dict | None = None
    ) -> None:
        self.server = server
        self.fixture = server.fixture(prejoin=prejoin, **(fixture or {}))
        self.sessions = self.fixture.pop("sessions")
        self.poll_id = self.fixture["poll_id"]
        self.joined = 0
        ctx = mp.get_context("spawn")
        self.pipes = []
        self.procs = []
        for worker_id in range(workers):
            parent, child = ctx.Pipe()
            config = {
                "url": server.url,
                "ws_url": f"{server.ws_base}/ws/e/{self.fixture['slug']}/",
                "projector_path": self.fixture["projector_path"],
                "screen_path": self.fixture["screen_path"],
                "poll_id": self.poll_id,
                "event_path": f"/e/{self.fixture['slug']}/",
                "worker_id": worker_id,
            }
            proc = ctx.Process(target=worker_main, args=(child, config), daemon=True)
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)

    @property
    def workers(self) -> int:
        return len(self.pipes)

    def call(self, commands: list[dict], timeout: float) -> list[dict]:
        for pipe, command in zip(self.pipes, commands, strict=True):
            pipe.send(command)
        deadline = time.monotonic() + timeout
        replies = []
        for pipe in self.pipes:
            if not pipe.poll(max(0.0, deadline - time.monotonic())):
                raise TimeoutError(f"a client worker did not answer within {timeout:.0f} s")
            reply = pipe.recv()
            if "error" in reply:
                raise RuntimeError(f"client worker: {reply['error']}")
            replies.append(reply)
        return replies

    def status(self) -> list[dict]:
        return self.call([{"cmd": "status"} for _ in self.pipes], timeout=60)

    def client_cpu(self) -> float:
        return sum(r["cpu_seconds"] for r in self.status())

    def stop(self) -> None:
        for pipe in self.pipes:
            with suppress(OSError):
                pipe.send({"cmd": "stop"})
        # A worker in the middle of a command only reads "stop" after it: do not wait long.
        deadline = time.monotonic() + 5
        for proc in self.procs:
            proc.join(timeout=max(0.1, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()

    # ------------------------------------------------------------------ phases

    def join(self, count: int, seconds: float, retries: int = 6) -> dict:
        """`count` more attendees join at an even pace over `seconds`, each through /join/."""
        indices = list(range(self.joined, self.joined + count))
        self.joined += count
        w = self.workers
        spacing = seconds / max(count, 1) * w
        start = time.monotonic() + 0.5
        with self.measure() as m:
            replies = self.call(
                [
                    {
                        "cmd": "join",
                        "indices": indices[i::w],
                        "start": start + i * spacing / w,
                        "spacing": spacing,
                        "retries": retries,
                        # --prejoined: the session cookie each attendee's join would have set.
                        "cookies": [self.sessions[i] for i in indices[i::w]]
                        if self.sessions
                        else [],
                    }
                    for i in range(w)
                ],
                timeout=seconds + 900,
            )
        finished = time.monotonic() - start
        errors: Counter[str] = Counter()
        for r in replies:
            errors.update(r["errors"])
        backends: Counter[str] = Counter()
        for r in replies:
            backends.update(r["backends"])
        join_seconds = [t for r in replies for t in r["join_seconds"]]
        result = {
            "attempted": count,
            "paced_over_s": seconds,
            "connected_total": sum(r["connected"] for r in replies),
            "attendees_total": sum(r["attendees"] for r in replies),
            "finished_after_s": round(finished, 2),
            "attempts": sum(r["attempts"] for r in replies),
            "reconnects": sum(r["reconnects"] for r in replies),
            "errors": dict(errors.most_common(10)),
            "join_to_socket_ms": report.percentiles(join_seconds),
            "backends": dict(backends),
            "http_max_wait_s": round(max(r["http_max_s"] for r in replies), 2),
            "http_waits_over_30s": sum(r["http_over_30s"] for r in replies),
            "answered_503_and_retried": sum(r["shed"] for r in replies),
        } | m.result
        log(
            f"joined {count} over {seconds:.0f} s: {result['connected_total']} connected, "
            f"{result['attempts']} attempts, finished after {finished:.1f} s"
        )
        return result

    @contextmanager
    def measure(self):
        """Server CPU and RSS, and client CPU, over a block."""
        procs = self.server.procs
        cpu0 = [p.cpu_seconds() for p in procs]
        client0 = self.client_cpu()
        machine0 = machine_busy_seconds()
        t0 = time.monotonic()
        box = Box()
        yield box
        wall = time.monotonic() - t0
        client1 = self.client_cpu()
        machine1 = machine_busy_seconds()
        ours = sum(p.cpu_seconds() - c for p, c in zip(procs, cpu0, strict=True))
        ours += client1 - client0
        box.result = {
            "seconds": round(wall, 2),
            "server_cpu_percent": [
                round(100 * (p.cpu_seconds() - c) / wall, 1)
                for p, c in zip(procs, cpu0, strict=True)
            ],
            "server_rss_mb": [round(p.rss_bytes() / 2**20, 1) for p in procs],
            "client_cpu_percent": round(100 * (client1 - client0) / wall, 1),
            "client_workers": self.workers,
            # Everything else on the machine (other users' work): the bench had the rest.
            "other_cpu_percent": round(100 * max(0.0, machine1 - machine0 - ours) / wall, 1),
        }

    def vote(self, offsets: list[float], *, once: bool, settle_timeout: float = 60) -> dict:
        """Votes at the given offsets (seconds from now), then checks every screen and the DB."""
        w = self.workers
        start = time.monotonic() + 0.5
        with self.measure() as m:
            replies = self.call(
                [
                    {"cmd": "vote", "start": start, "times": offsets[i::w], "once": once}
                    for i in range(w)
                ],
                timeout=(max(offsets) if offsets else 0) + ACK_TIMEOUT + 120,
            )
        results = [r for reply in replies for r in reply["results"]]
        outcomes = Counter(r[2] for r in results)
        acked = [r for r in results if r[2] == "acknowledged"]
        sends = [r[0] for r in results]
        span = (max(sends) - min(sends)) if len(sends) > 1 else 0.0
        refused = {
            k.removeprefix("refused: "): v for k, v in outcomes.items() if k.startswith("refused")
        }
        lost = outcomes.get("lost", 0) + outcomes.get("unanswered", 0)
        votes = {
            "planned": len(offsets),
            "sent": len(results),
            "skipped_no_free_attendee": sum(r["skipped"] for r in replies),
            "sent_per_s": round(len(results) / span, 1) if span else None,
            "acknowledged": len(acked),
            "refused": refused,
            "lost_or_unanswered": lost,
            "ack_ms": report.percentiles([r[1] - r[0] for r in acked]),
        } | m.result
        # What each vote cost the server(s) over the phase, fan-out and acknowledgements
        # included: comparable across loads where percentages are not.
        server_cpu = sum(m.result["server_cpu_percent"]) / 100 * m.result["seconds"]
        votes["server_cpu_ms_per_vote"] = (
            round(server_cpu / len(results) * 1000, 3) if results else None
        )
        log(
            f"votes: {len(results)} sent ({votes['sent_per_s']}/s), {len(acked)} acknowledged, "
            f"refused {sum(refused.values())}, lost {lost}, ack p99 {votes['ack_ms']['p99']} ms"
        )
        tally = self.settle(settle_timeout)
        screens = self.screens(acked)
        return {"votes": votes, "tally": tally, "screens": screens}

    def settle(self, timeout: float) -> dict:
        """The final tally on every screen against a recount from the database."""
        counts, version = self.server.recount(self.poll_id)
        replies = self.call(
            [{"cmd": "settle", "version": version, "timeout": timeout} for _ in self.pipes],
            timeout=timeout + 60,
        )
        shown: Counter[str] = Counter()
        acked: Counter[str] = Counter()
        for r in replies:
            shown.update(r["shown"])
            acked.update(r["acknowledged_sides"])
        expected = json.dumps({"counts": counts, "version": version}, sort_keys=True)
        showing = shown.get(expected, 0)
        sockets = sum(shown.values()) - shown.get("disconnected", 0)
        acked_sides = {side: acked.get(side, 0) for side in counts}
        result = {
            "db_recount": counts,
            "db_version": version,
            "sockets": sockets,
            "sockets_showing_recount": showing,
            "disconnected": shown.get("disconnected", 0),
            "every_screen_shows_recount": sockets > 0 and showing == sockets,
            "last_acknowledged_sides": acked_sides,
            "acknowledged_equals_recount": acked_sides == counts,
            "other_screens": {
                k: v for k, v in shown.most_common(4) if k not in (expected, "disconnected")
            },
        }
        log(
            f"tally: db {counts} v{version}; {showing}/{sockets} sockets show it; "
            f"acknowledged sides {'match' if result['acknowledged_equals_recount'] else 'DIFFER'}"
        )
        return result

    def screens(self, acked: list[tuple]) -> dict:
        """Vote-to-every-screen: from a vote's acknowledgement until every socket shows a tally
        whose version is at least the version the acknowledgement names."""
        with_version = [r for r in acked if r[3] >= 0]
        if not with_version:
            return {"error": "acknowledgements name no poll version (vote.acknowledged)"}
        sample = random.sample(with_version, min(SCREEN_SAMPLE, len(with_version)))
        versions = sorted({r[3] for r in sample})
        replies = self.call(
            [{"cmd": "screens", "versions": versions} for _ in self.pipes], timeout=300
        )
        latest: dict[str, list[float]] = {}
        missing = [0] * len(versions)
        for r in replies:
            for i, n in enumerate(r["missing"]):
                missing[i] += n
            for backend, row in r["latest"].items():
                mine = latest.setdefault(backend, [0.0] * len(versions))
                for i, t in enumerate(row):
                    mine[i] = max(mine[i], t)
        index = {v: i for i, v in enumerate(versions)}
        overall: list[float] = []
        by_route: dict[str, list[float]] = {}
        never = 0
        for _sent, answered, _outcome, version, voter_backend, _index in sample:
            i = index[version]
            if missing[i]:
                never += 1
                continue
            overall.append(max(0.0, max(row[i] for row in latest.values()) - answered))
            for backend, row in latest.items():
                route = f"{voter_backend} -> {backend}"
                by_route.setdefault(route, []).append(max(0.0, row[i] - answered))
        result = {
            "votes_measured": len(sample),
            "votes_never_on_every_screen": never,
            "latency_ms": report.percentiles(overall),
        }
        if len(latest) > 1:
            result["by_route"] = {k: report.percentiles(v) for k, v in sorted(by_route.items())}
        log(f"vote-to-every-screen: {result['latency_ms']} ({never} never everywhere)")
        return result


class Box:
    result: dict


def machine_busy_seconds() -> float:
    """CPU time all processes on the machine have used (from /proc/stat), in seconds."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
