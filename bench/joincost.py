"""What one attendee's way in costs the server: CPU per page of the join flow (issue 14).

    python -m bench.run joincost [--attendees N]

One embedded daphne (SQLite). N attendees (default 400) take each step of the whole join flow
in turn, 8 at a time, and the server's CPU (user + system, /proc/<pid>/stat) is read before and
after each step, so each page's cost is its own:

  code flow (what the room types):  GET /join/, POST /join/ (302), GET /e/<slug>/, the panels
                                    that page loads by itself (htmx), the socket
  QR flow (what the room scans):    GET /j/<code>/<token>/, POST /j/<code>/ (302), GET /e/<slug>/,
                                    its panels, the socket

Half the attendees take each flow. The sockets stay open until the end (what a room holds);
then each votes once (`vote`: CPU per acknowledged socket vote, coalesced tallies included).
`per_attendee_ms` adds up a flow's steps: the target is at most 6 ms (issue 14). With
--cluster the CPU of every daphne process is added up: the scale-out target compares the two
(at most 1.25 times the single process's, per attendee and per vote).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from websockets.asyncio.client import connect

from bench.client import CSRF_FIELD, SCREEN_CODE
from bench.harness import log
from bench.server import ProcSample, Server
from bench.wire import http

QR_URL = re.compile(rb'data-screen-url="[^"]*?(/j/[^"/]+/[^"/]+/)"')
# What the attendee page loads by itself once shown (htmx, trigger "load"): its panels.
LOADED_PANEL = re.compile(rb'data-hx-get="([^"]+)" data-hx-trigger="load"')
CONCURRENCY = 8


class Step:
    def __init__(self, name: str) -> None:
        self.name = name
        self.cpu = 0.0
        self.count = 0
        self.errors = 0
        self.wall_ms: list[float] = []

    def report(self) -> dict:
        walls = sorted(self.wall_ms)
        return {
            "requests": self.count,
            "errors": self.errors,
            "server_cpu_ms_each": round(1000 * self.cpu / max(self.count, 1), 2),
            "wall_ms_p50": round(walls[len(walls) // 2], 1) if walls else None,
        }


async def _run_step(
    step: Step, procs: list[ProcSample], items: list, action: Callable[[object], Awaitable[bool]]
) -> None:
    queue: asyncio.Queue = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)

    async def worker() -> None:
        while not queue.empty():
            item = queue.get_nowait()
            started = time.perf_counter()
            ok = await action(item)
            step.wall_ms.append(1000 * (time.perf_counter() - started))
            step.count += 1
            step.errors += not ok

    before = sum(p.cpu_seconds() for p in procs)
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    await asyncio.sleep(0.5)  # what the step set off (coalesced tallies) is part of its cost
    step.cpu += sum(p.cpu_seconds() for p in procs) - before


async def _flows(server: Server, fixture: dict, n: int) -> dict:
    base, slug = server.url, fixture["slug"]
    procs = server.procs  # every daphne process (two in --cluster)
    status, projector, _ = await http(base, "GET", fixture["projector_path"])
    assert status == 302, f"projector link {status}"

    async def screen() -> tuple[str, str]:
        status, _, body = await http(base, "GET", fixture["screen_path"], cookies=projector)
        code, qr = SCREEN_CODE.search(body), QR_URL.search(body)
        assert status == 200 and code and qr, f"screen {status}"
        return code.group(1).decode(), qr.group(1).decode()

    people = [{"i": i, "cookies": {}, "ok": True} for i in range(n)]
    code_people, qr_people = people[: n // 2], people[n // 2 :]
    steps = {
        "code": [
            Step(s)
            for s in ("GET /join/", "POST /join/", "GET /e/<slug>/", "its panels (htmx)", "socket")
        ],
        "qr": [
            Step(s)
            for s in (
                "GET /j/<code>/<token>/",
                "POST /j/<code>/",
                "GET /e/<slug>/",
                "its panels (htmx)",
                "socket",
            )
        ],
    }
    sockets = []
    posted_form: dict[int, str] = {}

    async def get_join(p: dict) -> bool:
        status, cookies, body = await http(base, "GET", "/join/")
        token = CSRF_FIELD.search(body)
        p["cookies"] |= cookies
        posted_form[p["i"]] = token.group(1).decode() if token else ""
        return status == 200 and bool(token)

    async def post(p: dict, path: str, fields: dict) -> bool:
        form = urlencode({"csrfmiddlewaretoken": posted_form[p["i"]], **fields}).encode()
        status, cookies, _ = await http(
            base,
            "POST",
            path,
            cookies=p["cookies"],
            body=form,
            headers={
                "Origin": base,
                "Referer": base + path,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        p["cookies"] |= cookies
        return status in (302, 303)

    async def post_code(p: dict) -> bool:
        code, _qr = await screen_now()
        return await post(p, "/join/", {"code": code, "display_name": f"Bench {p['i']}"})

    async def get_qr(p: dict) -> bool:
        _code, qr = await screen_now()
        status, cookies, body = await http(base, "GET", qr)
        token = CSRF_FIELD.search(body)
        p["cookies"] |= cookies
        p["link"] = "/".join(qr.split("/")[:3]) + "/"
        posted_form[p["i"]] = token.group(1).decode() if token else ""
        return status == 200 and bool(token)

    async def post_link(p: dict) -> bool:
        return await post(p, p["link"], {"display_name": f"Bench {p['i']}"})

    async def event_page(p: dict) -> bool:
        status, cookies, body = await http(base, "GET", f"/e/{slug}/", cookies=p["cookies"])
        p["cookies"] |= cookies
        p["panels"] = [m.decode() for m in LOADED_PANEL.findall(body)]
        return status == 200

    async def panels(p: dict) -> bool:
        ok = True
        for path in p.get("panels", []):
            headers = {"HX-Request": "true"}
            status, _, _ = await http(base, "GET", path, cookies=p["cookies"], headers=headers)
            ok = ok and status == 200
        return ok

    async def socket(p: dict) -> bool:
        cookie = "; ".join(f"{k}={v}" for k, v in p["cookies"].items())
        try:
            ws = await connect(
                f"{server.ws_base}/ws/e/{slug}/",
                additional_headers={"Cookie": cookie},
                origin=base,
                compression=None,
                ping_interval=None,
                open_timeout=60,
            )
        except Exception:
            return False
        sockets.append(ws)
        # The connect's own messages, up to "you.synced": what the page needs to show.
        while '"you.synced"' not in str(await ws.recv()):
            pass
        return True

    screen_cache: dict[str, tuple[float, tuple[str, str]]] = {}

    async def screen_now() -> tuple[str, str]:
        # Outside the measured step's CPU would be better; one read per 10 s is noise.
        at, value = screen_cache.get("s", (-1e9, ("", "")))
        if time.monotonic() - at > 10:
            value = await screen()
            screen_cache["s"] = (time.monotonic(), value)
        return value

    await screen_now()
    code_steps = (get_join, post_code, event_page, panels, socket)
    for step, action in zip(steps["code"], code_steps, strict=True):
        log(f"joincost: {step.name} x {len(code_people)}")
        await _run_step(step, procs, code_people, action)
    for step, action in zip(
        steps["qr"], (get_qr, post_link, event_page, panels, socket), strict=True
    ):
        log(f"joincost: {step.name} x {len(qr_people)} (QR flow)")
        await _run_step(step, procs, qr_people, action)
    vote = Step("vote.cast")
    poll = fixture["poll_id"]

    async def cast(ws) -> bool:
        ref = str(id(ws))
        await ws.send(json.dumps({"type": "vote.cast", "poll": poll, "side": "for", "ref": ref}))
        while True:
            message = json.loads(await ws.recv())
            if message.get("ref") == ref:
                return message["type"] == "vote.acknowledged"

    log(f"joincost: vote.cast x {len(sockets)}")
    await _run_step(vote, procs, sockets, cast)
    for ws in sockets:
        await ws.close()
    report = {}
    for flow, flow_steps in steps.items():
        per = {s.name: s.report() for s in flow_steps}
        report[flow] = {
            "steps": per,
            "per_attendee_ms": round(sum(s["server_cpu_ms_each"] for s in per.values()), 2),
            "errors": sum(s["errors"] for s in per.values()),
        }
    report["vote"] = vote.report()
    report["processes"] = len(procs)
    return report


def scenario(server: Server, fixture: dict, attendees: int) -> dict:
    report = asyncio.run(_flows(server, fixture, attendees))
    worst = max(report[flow]["per_attendee_ms"] for flow in ("code", "qr"))
    report["targets"] = {
        "join_cpu_ms_per_attendee": {"value": worst, "limit": 6.0, "met": worst <= 6.0},
        "no_errors": {
            "value": sum(
                f["errors"] for f in report.values() if isinstance(f, dict) and "errors" in f
            ),
            "limit": 0,
            "met": all(
                f["errors"] == 0 for f in report.values() if isinstance(f, dict) and "errors" in f
            ),
        },
    }
    return report
