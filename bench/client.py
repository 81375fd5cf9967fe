"""Attendee clients: worker processes that join through the real flow, hold sockets and vote.

One asyncio loop per worker process; the coordinator (bench.run) drives workers over a pipe
with small command dicts and gets plain data back. Times are time.monotonic(), which is the
same clock in every process on Linux, so acknowledgements in one worker and arrivals in another
can be compared.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import resource
import sys
import time
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench import flood, reactions
from bench.wire import RETRY_AFTER, JoinError, Shed, http

SIDES = ("for", "against", "undecided")
CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
SCREEN_CODE = re.compile(rb"data-screen-code>([0-9A-Z-]+)<")
# Close codes the server uses for a client's own fault: reconnecting would not help.
FINAL_CLOSE_CODES = {4400, 4403}
ACK_TIMEOUT = 60.0
# A socket the server keeps closing is given up after this many reconnects (bounded runs).
MAX_RECONNECTS = 5


@dataclass(slots=True)
class Attendee:
    index: int
    cookie: str = ""
    ws: ClientConnection | None = None
    backend: str = ""
    connected_at: float = 0.0
    version: int = -1
    counts: dict | None = None
    total: int | None = None
    seen_versions: list[int] = field(default_factory=list)
    seen_times: list[float] = field(default_factory=list)
    pending: dict[str, asyncio.Future] = field(default_factory=dict)
    side: str | None = None
    busy: bool = False
    closes: int = 0


class Worker:
    def __init__(self, conn: Connection, config: dict) -> None:
        self.conn = conn
        self.base = config["url"]
        self.ws_url = config["ws_url"]
        self.origin = config["url"]
        self.projector_path = config["projector_path"]
        self.screen_path = config["screen_path"]
        self.screen_cookies: dict[str, str] | None = None
        self.screen_read: tuple[float, str] | None = None  # (when, the code on the screen)
        self.poll_id = config["poll_id"]
        self.event_path = config["event_path"]
        self.worker_id = config["worker_id"]
        self.attendees: dict[int, Attendee] = {}
        self.refs = itertools.count()
        self.stopping = False
        self.errors: Counter[str] = Counter()
        self.join_times: list[float] = []
        self.http_max_s = 0.0  # the longest any one HTTP request of the join flow waited
        self.http_over_30s = 0  # requests that waited longer than 30 s (issue 14: none may)
        self.shed = 0  # 503 answers (the server's early "try again"), each honoured
        self.attempts = 0
        self.reconnects = 0

    # ------------------------------------------------------------------ joining

    async def screen_code(self) -> str:
        """The code the projector shows now (events.admission rotates it), re-read every 15 s:
        what people in the room type. One projector session per worker."""
        if self.screen_read and time.monotonic() - self.screen_read[0] < 15:
            return self.screen_read[1]
        if self.screen_cookies is None:
            status, cookies, _ = await http(self.base, "GET", self.projector_path)
            if status != 302:
                raise JoinError(f"GET projector link {status}")
            self.screen_cookies = cookies
        status, _, body = await http(
            self.base, "GET", self.screen_path, cookies=self.screen_cookies
        )
        code = SCREEN_CODE.search(body)
        if status != 200 or not code:
            raise JoinError(f"GET {self.screen_path} {status}")
        self.screen_read = (time.monotonic(), code.group(1).decode())
        return self.screen_read[1]

    async def page(self, method: str, path: str, **options) -> tuple[int, dict, bytes]:
        """One request of the join flow, timed; a 503 (answered early by the server's overload
        guard) raises Shed with its Retry-After, which the page itself would honour."""
        started = time.monotonic()
        try:
            status, cookies, body = await http(self.base, method, path, **options)
        finally:
            waited = time.monotonic() - started
            self.http_max_s = max(self.http_max_s, waited)
            self.http_over_30s += waited > 30
        if status == 503:
            raise Shed(RETRY_AFTER.search(body))
        return status, cookies, body

    async def http_join(self, att: Attendee) -> str:
        """GET /join/, POST the code with the CSRF token; returns the session's Cookie header.

        Each request on its own connection, as many phones would: a shared client pool with
        thousands of queued requests costs the client more CPU than the server.
        """
        status, cookies, body = await self.page("GET", "/join/")
        if status != 200:
            raise JoinError(f"GET /join/ {status}")
        token = CSRF_FIELD.search(body)
        if not token:
            raise JoinError("no CSRF token in /join/")
        form = urlencode(
            {
                "csrfmiddlewaretoken": token.group(1).decode(),
                "code": await self.screen_code(),
                "display_name": f"Bench {att.index}",
            }
        )
        status, more, _ = await self.page(
            "POST",
            "/join/",
            cookies=cookies,
            body=form.encode(),
            headers={
                "Referer": f"{self.base}/join/",
                "Origin": self.origin,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        if status not in (302, 303):
            raise JoinError(f"POST /join/ {status}")
        cookies |= more
        if "sessionid" not in cookies:
            raise JoinError("POST /join/ set no session")
        # The redirect's target: the attendee page a phone then shows (it opens the socket).
        status, more, _ = await self.page("GET", self.event_path, cookies=cookies)
        if status != 200:
            raise JoinError(f"GET {self.event_path} {status}")
        cookies |= more
        return "; ".join(f"{name}={value}" for name, value in cookies.items())

    async def open_socket(self, att: Attendee) -> None:
        ws = await connect(
            self.ws_url,
            additional_headers={"Cookie": att.cookie},
            origin=self.origin,
            compression=None,
            ping_interval=None,
            open_timeout=60,
            close_timeout=2,
            max_queue=256,
            user_agent_header=None,
        )
        att.ws = ws
        att.backend = ws.response.headers.get("X-Upstream", "direct")
        att.connected_at = time.monotonic()
        asyncio.get_running_loop().create_task(self.read(att, ws))

    async def join(self, att: Attendee, *, retries: int) -> None:
        """Join and connect, retrying with backoff as the attendee page's script does."""
        started = time.monotonic()
        attempt = 0
        while attempt <= retries:
            self.attempts += 1
            try:
                if not att.cookie:
                    att.cookie = await self.http_join(att)
                await self.open_socket(att)
                self.join_times.append(time.monotonic() - started)
                return
            except Shed as shed:
                # What the page does: wait as told, with jitter, and try again (no retry spent).
                self.shed += 1
                await asyncio.sleep(shed.retry_after * random.uniform(1, 1.5))
                continue
            except (OSError, JoinError, ConnectionClosed, TimeoutError) as exc:
                self.errors[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1
            except Exception as exc:  # the handshake's own errors (InvalidStatus and kin)
                self.errors[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1
            if attempt < retries:
                await asyncio.sleep(min(0.5 * 2**attempt, 8) * random.uniform(0.5, 1.5))
            attempt += 1
        self.errors["gave up"] += 1

    async def cmd_join(
        self, *, indices: list[int], start: float, spacing: float, retries: int, cookies: list
    ):
        for index, cookie in zip(indices, cookies, strict=False):
            self.attendees.setdefault(index, Attendee(index)).cookie = cookie
        progress = asyncio.create_task(self.progress())
        try:
            return await self._join_all(indices, start, spacing, retries)
        finally:
            progress.cancel()

    async def progress(self) -> None:
        """A line on stderr every 10 s while joining: a slow join is visible, not a silence."""
        while True:
            await asyncio.sleep(10)
            s = self.status()
            errors = ", ".join(f"{k} x{v}" for k, v in Counter(s["errors"]).most_common(3))
            print(
                f"[worker {self.worker_id}] {s['connected']}/{s['attendees']} connected, "
                f"{s['attempts']} attempts{'; ' + errors if errors else ''}",
                file=sys.stderr,
                flush=True,
            )

    async def _join_all(self, indices: list[int], start: float, spacing: float, retries: int):
        tasks = []
        for n, index in enumerate(indices):
            att = self.attendees.setdefault(index, Attendee(index))
            delay = start + n * spacing - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self.join(att, retries=retries)))
        await asyncio.gather(*tasks)
        return self.status()

    # ------------------------------------------------------------------ receiving

    async def read(self, att: Attendee, ws: ClientConnection) -> None:
        poll_id = self.poll_id
        loads = json.loads
        try:
            async for raw in ws:
                now = time.monotonic()
                msg = loads(raw)
                kind = msg.get("type")
                if kind == "tally.updated":
                    if msg.get("poll") == poll_id and msg["version"] > att.version:
                        att.version = msg["version"]
                        att.counts = msg.get("counts")
                        att.total = msg.get("total")
                        att.seen_versions.append(att.version)
                        att.seen_times.append(now)
                elif kind in ("vote.acknowledged", "vote.refused", "vote.replaced"):
                    future = att.pending.pop(msg.get("ref"), None)
                    if future is not None and not future.done():
                        future.set_result((now, msg))
        except ConnectionClosed:
            pass
        code = ws.close_code
        if att.ws is ws:
            att.ws = None
        for future in att.pending.values():
            if not future.done():
                future.set_result((time.monotonic(), {"type": "lost"}))
        att.pending.clear()
        if self.stopping:
            return
        att.closes += 1
        self.errors[f"closed by server ({code})"] += 1
        if code not in FINAL_CLOSE_CODES and att.closes <= MAX_RECONNECTS:
            self.reconnects += 1
            await asyncio.sleep(random.uniform(0.5, 1.5))
            await self.join(att, retries=8)

    def status(self) -> dict:
        connected = [a for a in self.attendees.values() if a.ws is not None]
        return {
            "worker": self.worker_id,
            "attendees": len(self.attendees),
            "connected": len(connected),
            "backends": dict(Counter(a.backend for a in connected)),
            "attempts": self.attempts,
            "reconnects": self.reconnects,
            "errors": dict(self.errors),
            "join_seconds": self.join_times,
            "http_max_s": self.http_max_s,
            "http_over_30s": self.http_over_30s,
            "shed": self.shed,
            "cpu_seconds": cpu_seconds(),
        }

    # ------------------------------------------------------------------ voting

    async def cast(self, att: Attendee, side: str, results: list) -> None:
        ref = f"{self.worker_id}.{next(self.refs)}"
        future = asyncio.get_running_loop().create_future()
        att.pending[ref] = future
        att.busy = True
        sent = time.monotonic()
        try:
            if att.ws is None:
                raise ConnectionError
            await att.ws.send(
                json.dumps({"type": "vote.cast", "poll": self.poll_id, "side": side, "ref": ref})
            )
            answered, msg = await asyncio.wait_for(future, ACK_TIMEOUT)
        except (ConnectionError, ConnectionClosed):
            answered, msg = time.monotonic(), {"type": "lost"}
        except TimeoutError:
            answered, msg = time.monotonic(), {"type": "unanswered"}
        finally:
            att.pending.pop(ref, None)
            att.busy = False
        kind = msg.get("type")
        if kind == "vote.acknowledged":
            att.side = side
            outcome = "acknowledged"
        elif kind == "vote.refused":
            outcome = "refused: " + str(msg.get("reason", ""))
        else:
            outcome = kind
        # (sent, answered, outcome, version in the acknowledgement or -1, backend, attendee)
        results.append(
            (sent, answered, outcome, int(msg.get("version", -1)), att.backend, att.index)
        )

    def pick_side(self, att: Attendee) -> str:
        # An attendee who voted already changes their mind: every second vote is a change.
        if att.side is None:
            return random.choice(SIDES)
        return random.choice([s for s in SIDES if s != att.side])

    async def cmd_vote(self, *, start: float, times: list[float], once: bool) -> dict:
        """Casts one vote at each of start + times[i] by an attendee with no vote in flight.

        once=True: each attendee votes once (a burst); otherwise attendees are picked at random
        and may change their vote.
        """
        results: list = []
        tasks = []
        skipped = 0
        connected = [a for a in self.attendees.values() if a.ws is not None]
        random.shuffle(connected)
        queue = iter(connected)
        for offset in times:
            delay = start + offset - time.monotonic()
            if delay > 0.001:
                await asyncio.sleep(delay)
            att = next(queue, None) if once else self._free_attendee(connected)
            if att is None or att.ws is None:
                skipped += 1
                continue
            # Busy from the moment it is picked, not when its task first runs: two picks in one
            # turn of the loop would otherwise send one attendee's votes two at a time (the
            # server then answers the first `vote.replaced`, which the bench counted as lost).
            att.busy = True
            tasks.append(asyncio.create_task(self.cast(att, self.pick_side(att), results)))
        sent_until = time.monotonic()
        if tasks:
            await asyncio.gather(*tasks)
        return {
            "results": results,
            "skipped": skipped,
            "sending_seconds": sent_until - start,
            "cpu_seconds": cpu_seconds(),
        }

    def _free_attendee(self, connected: list[Attendee]) -> Attendee | None:
        for _ in range(20):
            att = random.choice(connected)
            if not att.busy and att.ws is not None:
                return att
        return None

    # ------------------------------------------------------------------ checking

    async def cmd_settle(self, *, version: int, timeout: float) -> dict:
        """Waits until every connected socket shows `version`; reports what each shows."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(a.version >= version for a in self.attendees.values() if a.ws is not None):
                break
            await asyncio.sleep(0.1)
        shown: Counter[str] = Counter()
        for att in self.attendees.values():
            if att.ws is None:
                shown["disconnected"] += 1
            else:
                shown[
                    json.dumps({"version": att.version, "counts": att.counts}, sort_keys=True)
                ] += 1
        expected = Counter(a.side for a in self.attendees.values() if a.side is not None)
        return {"shown": dict(shown), "acknowledged_sides": dict(expected)}

    def cmd_screens(self, *, versions: list[int]) -> dict:
        """For each version: when the last of this worker's sockets first showed it (or later).

        Returns {backend: [time or None per version]} and how many sockets never showed each.
        """
        latest: dict[str, list[float]] = {}
        missing = [0] * len(versions)
        for att in self.attendees.values():
            if not att.connected_at:
                continue
            row = latest.setdefault(att.backend, [0.0] * len(versions))
            seen_v, seen_t = att.seen_versions, att.seen_times
            for i, version in enumerate(versions):
                k = bisect_left(seen_v, version)
                if k == len(seen_v):
                    missing[i] += 1
                elif seen_t[k] > row[i]:
                    row[i] = seen_t[k]
        return {"latest": latest, "missing": missing}

    def cmd_stop(self) -> dict:
        self.stopping = True
        return {"cpu_seconds": cpu_seconds()}

    # ------------------------------------------------------------------ plumbing

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            command = await loop.run_in_executor(None, self.conn.recv)
            name = command.pop("cmd")
            try:
                if name == "join":
                    reply = await self.cmd_join(**command)
                elif name == "status":
                    reply = self.status()
                elif name == "vote":
                    reply = await self.cmd_vote(**command)
                elif name == "settle":
                    reply = await self.cmd_settle(**command)
                elif name == "screens":
                    reply = self.cmd_screens(**command)
                elif name == "flood":
                    reply = await flood.flood(self, **command)
                elif name == "taps":
                    reply = await reactions.taps(self, **command)
                elif name == "stop":
                    self.conn.send(self.cmd_stop())
                    return
                else:
                    reply = {"error": f"unknown command {name}"}
            except Exception as exc:
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            self.conn.send(reply)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def worker_main(conn: Connection, config: dict) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(Worker(conn, config).serve())
