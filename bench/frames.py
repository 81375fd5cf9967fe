"""What one fan-out frame costs daphne, by the way it is written: `python -m bench.frames`.

A bare ASGI app (no Django) under daphne holds N sockets; on request it sends one tally-sized
text frame to all of them, three ways, and reports the server's CPU per socket, counted until
the writes that follow have gone out:

  asgi    `await send({"type": "websocket.send", ...})` per socket: daphne, autobahn's framing,
          then Twisted's transport.write (what debates.live does, under Channels' wrappers)
  frame   the frame built once, `transport.write(frame)` per socket (skips daphne + autobahn)
  socket  the frame built once, `socket.send(frame)` when nothing is queued on the transport,
          else transport.write (also skips Twisted's register-write-unregister with epoll)

This measures a possible change to debates.live, not the product: see BENCHMARKS.md.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

from bench.launcher import REPO, die_with_parent, free_port, raise_nofile, venv_bin
from debates.live.transport import daphne_protocol, text_frame, write_fast

PAYLOAD = json.dumps(
    {
        "type": "tally.updated",
        "poll": 1,
        "version": 123,
        "kind": "pre_vote",
        "state": "open",
        "visible": True,
        "total": 4999,
        "counts": {"for": 1666, "against": 1667, "undecided": 1666},
        "percent": {"for": 33, "against": 34, "undecided": 33},
        "attendees": 5000,
    }
)
_sockets: dict[object, object] = {}


# The product's own builder (one RFC 6455 frame builder in the project).
frame = text_frame


async def _fan_out(way: str) -> dict:
    sends = list(_sockets.values())
    started = time.process_time()
    if way == "asgi":
        message = {"type": "websocket.send", "text": PAYLOAD}
        for send in sends:
            await send(message)
    else:
        raw = frame(PAYLOAD)
        for send in sends:
            protocol = daphne_protocol(send)
            if way == "frame":
                protocol.transport.write(raw)
            elif not write_fast(protocol, raw):
                await send({"type": "websocket.send", "text": PAYLOAD})
    in_loop = time.process_time() - started
    await asyncio.sleep(1.0)  # the reactor writes what was queued
    total = time.process_time() - started
    return {
        "way": way,
        "sockets": len(sends),
        "cpu_us_per_socket_in_loop": round(in_loop * 1e6 / len(sends), 1),
        "cpu_us_per_socket_with_writes": round(total * 1e6 / len(sends), 1),
    }


async def app(scope, receive, send):
    """The server side: every socket is a listener; a text frame names a way to fan out."""
    if scope["type"] != "websocket":
        return
    await receive()
    await send({"type": "websocket.accept"})
    key = object()
    _sockets[key] = send
    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            result = await _fan_out(message["text"])
            await send({"type": "websocket.send", "text": "RESULT " + json.dumps(result)})
    finally:
        _sockets.pop(key, None)


async def measure(sockets: int, rounds: int) -> list[dict]:
    from websockets.asyncio.client import connect

    port = free_port()
    server = subprocess.Popen(
        [
            venv_bin("daphne"),
            "-v",
            "0",
            "-e",
            f"tcp:port={port}:interface=127.0.0.1:backlog=4096",
            "bench.frames:app",
        ],
        cwd=REPO,
        preexec_fn=die_with_parent,
    )
    try:
        await asyncio.sleep(2)
        url = f"ws://127.0.0.1:{port}/"
        clients = [
            await connect(url, compression=None, ping_interval=None, max_queue=None)
            for _ in range(sockets)
        ]
        results: asyncio.Queue = asyncio.Queue()

        async def drain(ws) -> None:
            async for text in ws:
                if text.startswith("RESULT "):
                    await results.put(json.loads(text.removeprefix("RESULT ")))

        readers = [asyncio.create_task(drain(ws)) for ws in clients]
        out = []
        for _ in range(rounds):
            for way in ("asgi", "frame", "socket"):
                await clients[0].send(way)
                out.append(await asyncio.wait_for(results.get(), 60))
                await asyncio.sleep(0.5)
        for task in readers:
            task.cancel()
        return out
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> int:
    raise_nofile()
    sockets = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    runs = asyncio.run(measure(sockets, rounds=3))
    # The first round warms the server up; the median of the rest per way.
    summary = {}
    for way in ("asgi", "frame", "socket"):
        values = sorted(r["cpu_us_per_socket_with_writes"] for r in runs if r["way"] == way)[1:]
        summary[way] = values[len(values) // 2] if values else None
    print(
        json.dumps(
            {"sockets": sockets, "median_cpu_us_per_socket": summary, "runs": runs}, indent=2
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
