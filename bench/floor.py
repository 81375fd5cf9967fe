"""What the stack costs before the product does anything (issue 14): the floor under the join
flow's per-attendee CPU.

    python -m bench.run floor [--attendees N]

One embedded daphne, as the join flow's bench (bench.joincost) starts it. N requests (default
1,000), 8 at a time, each on a fresh connection as a phone makes them, and the server's CPU
over each kind (user + system, /proc/<pid>/stat):

  static file      a file WhiteNoise serves (daphne, Twisted and the ASGI hand-off only)
  404 page         a URL nothing answers: Django's whole middleware chain and a small template
  socket refused   a websocket to an event that does not exist: the handshake, Channels'
                   session and auth middleware, one query, close 4404
  socket, no one   a websocket to a real event with no session: the connect's reads without
                   an attendee (what every attendee's socket does, less who they are)

The join flow is three pages and a socket (bench.joincost); so its floor, before any of the
product's own work, is about three 404 pages and a refused socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from websockets.asyncio.client import connect

from bench.harness import log
from bench.server import Server
from bench.wire import http

CONCURRENCY = 8


async def _measure(server: Server, n: int, action) -> dict:
    procs = server.procs
    queue: asyncio.Queue = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)
    errors = 0

    async def worker() -> None:
        nonlocal errors
        while not queue.empty():
            queue.get_nowait()
            try:
                await action()
            except Exception:  # counted: the report says how many
                errors += 1

    for _ in range(20):  # warm: imports, template loading, the first connection's setup
        await action()
    before = sum(p.cpu_seconds() for p in procs)
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    wall = time.perf_counter() - started
    cpu = sum(p.cpu_seconds() for p in procs) - before
    return {
        "requests": n,
        "errors": errors,
        "server_cpu_ms_each": round(1000 * cpu / n, 2),
        "wall_s": round(wall, 2),
    }


async def _floor(server: Server, fixture: dict, n: int) -> dict:
    base = server.url
    ws_base = base.replace("http://", "ws://")
    origin = {"Origin": base}
    static = "/static/js/door.js"

    async def get(path: str, expect: int) -> None:
        status, _, _ = await http(base, "GET", path)
        assert status == expect, f"{path}: {status}"

    async def socket(path: str, *, refused: bool = False) -> None:
        try:
            async with connect(ws_base + path, additional_headers=origin, open_timeout=30) as ws:
                # The first message, or the close of a refused socket: either ends the connect.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ws.recv(), 10)
        except Exception:
            if not refused:  # a refusal (handshake answered 403, or closed 4404) is the point
                raise

    steps = {
        "static file": lambda: get(static, 200),
        "404 page": lambda: get("/no-such-page/", 404),
        "socket refused": lambda: socket("/ws/e/no-such-event/", refused=True),
        "socket, no one": lambda: socket(f"/ws/e/{fixture['slug']}/"),
    }
    out = {}
    for name, action in steps.items():
        log(f"floor: {name} x {n}")
        out[name] = await _measure(server, n, action)
    return out


def scenario(server: Server, fixture: dict, n: int) -> dict:
    steps = asyncio.run(_floor(server, fixture, n))
    three_pages_and_a_socket = round(
        3 * steps["404 page"]["server_cpu_ms_each"] + steps["socket refused"]["server_cpu_ms_each"],
        2,
    )
    return {
        "steps": steps,
        "join_flow_floor_ms": three_pages_and_a_socket,
        "note": "three pages and a socket of the stack alone: the join flow cannot cost less",
    }
