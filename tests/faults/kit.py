"""What the fault tests share: a private Redis to kill, people with a live page open (as
static/js/live.js behaves), a host, and a recount straight from the database.

Waits are on conditions with generous deadlines; the only durations asserted are the product's
own promises (a tally right within 10 s of Redis coming back, a vote 15 s later reaching all).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bench.launcher import Daphne, free_port
from tests.servers import http_client, open_socket

# Lines a server logs when a request or a socket crashed (a 500, or daphne's 1011).
CRASH_MARKERS = ("Exception inside application", "Internal Server Error")


def crashes(*servers: Daphne) -> list[str]:
    return [
        line
        for s in servers
        for line in s.log().splitlines()
        if any(m in line for m in CRASH_MARKERS)
    ]


async def until(predicate: Callable[[], bool], deadline: float, what: str) -> float:
    """Waits until predicate() holds; returns when (monotonic). Fails after `deadline` seconds."""
    end = time.monotonic() + deadline
    while True:
        if predicate():
            return time.monotonic()
        if time.monotonic() > end:
            raise AssertionError(f"not within {deadline:.0f} s: {what}")
        await asyncio.sleep(0.05)


# ---------------------------------------------------------------- a Redis of our own


class PrivateRedis:
    """A redis-server on a free port, for this test only: killing it disturbs no one else."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="pb-redis-")
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
                "--logfile",
                str(Path(self.dir) / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        end = time.monotonic() + 20
        while True:
            try:
                if client.ping():
                    break
            except redis.RedisError:
                if time.monotonic() > end or self.proc.poll() is not None:
                    raise RuntimeError(f"redis-server did not start on {self.port}") from None
                time.sleep(0.05)
        client.close()
        return self

    def kill(self) -> None:
        """Gone at once, as a crashed or restarted server is: no goodbye to its clients."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def __enter__(self) -> PrivateRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()


# ---------------------------------------------------------------- people with the page open


class Person:
    """An attendee's open event page: one socket, the highest tally version seen per poll,
    answers matched to votes by ref. Like live.js, a vote left unanswered when the socket
    drops is sent again over HTTP (the same side twice is harmless)."""

    def __init__(self, name: str, cookies: dict[str, str]) -> None:
        self.name = name
        self.cookies = cookies
        self.ws = None
        self.server: Daphne | None = None
        self.reader: asyncio.Task | None = None
        self.tallies: dict[int, dict[str, Any]] = {}
        self.answers: dict[str, asyncio.Future] = {}
        self.closes: list[int | None] = []
        self.refs = 0

    async def connect(self, server: Daphne, slug: str) -> None:
        self.server = server
        self.ws = await open_socket(server, slug, self.cookies)
        self.reader = asyncio.create_task(self._read(self.ws))

    async def _read(self, ws) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in ws:
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "tally.updated":
                    seen = self.tallies.get(message["poll"])
                    if seen is None or message["version"] >= seen["version"]:
                        self.tallies[message["poll"]] = message
                elif kind in {"vote.acknowledged", "vote.refused"}:
                    future = self.answers.pop(message.get("ref"), None)
                    if future is not None and not future.done():
                        future.set_result(message)
        except ConnectionClosed:
            pass
        finally:
            self.closes.append(ws.close_code)
            for future in self.answers.values():
                if not future.done():
                    future.set_result(None)  # no answer: the socket went away
            self.answers.clear()

    @property
    def connected(self) -> bool:
        return self.reader is not None and not self.reader.done()

    def shows(self, poll: int) -> dict[str, Any] | None:
        return self.tallies.get(poll)

    async def vote(self, poll: int, side: str, timeout: float = 30) -> dict[str, Any] | None:
        """The socket's answer to one vote, or None if the socket dropped first."""
        self.refs += 1
        ref = f"{self.name}-{self.refs}"
        future = asyncio.get_running_loop().create_future()
        self.answers[ref] = future
        try:
            await self.ws.send(
                json.dumps({"type": "vote.cast", "poll": poll, "side": side, "ref": ref})
            )
        except Exception:
            self.answers.pop(ref, None)
            return None
        return await asyncio.wait_for(future, timeout)

    async def vote_over_http(self, server: Daphne, slug: str, poll: int, side: str):
        """live.js's fallback: the same vote as an htmx POST. Returns (status, text)."""
        async with http_client(server.url, self.cookies) as http:
            response = await http.post(
                f"/e/{slug}/polls/{poll}/vote/",
                data={"side": side},
                headers={"X-CSRFToken": self.cookies["csrftoken"], "HX-Request": "true"},
            )
            return response.status_code, response.text

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.reader is not None:
            with contextlib.suppress(Exception):
                await self.reader


def with_csrf(cookies: dict[str, str]) -> dict[str, str]:
    return {"csrftoken": secrets.token_hex(16)} | cookies


async def host_cookies(server: Daphne, slug: str, host_key: str) -> dict[str, str]:
    """A browser that opened the secret host link: a host session, and a CSRF cookie."""
    async with http_client(server.url) as http:
        response = await http.get(f"/e/{slug}/host/{host_key}/")
        assert response.status_code == 302, response.text
        return with_csrf(dict(http.cookies))


async def host_post(server: Daphne, cookies: dict[str, str], path: str, data: dict | None = None):
    async with http_client(server.url, cookies) as http:
        return await http.post(
            path,
            data=data or {},
            headers={"X-CSRFToken": cookies["csrftoken"], "HX-Request": "true"},
        )


async def close_all(people: Iterable[Person]) -> None:
    await asyncio.gather(*(p.close() for p in people), return_exceptions=True)


# ---------------------------------------------------------------- the database's word

RECOUNT = """
from debates.models import Vote
from debates.selectors import poll_snapshot
votes = dict(Vote.objects.filter(poll_id={poll}).values_list("attendee__display_name", "side"))
snapshot = poll_snapshot(poll_id={poll})
print(json.dumps({{"votes": votes, "counts": snapshot.counts, "total": snapshot.total,
                   "version": snapshot.version, "state": snapshot.state}}))
"""

PEOPLE = """
import secrets
from django.contrib.sessions.backends.db import SessionStore
from events.models import Attendee
from debates.selectors import ATTENDEE_SESSION_KEY
people = Attendee.objects.bulk_create(
    Attendee(event_id={event}, token=secrets.token_urlsafe(32), display_name=f"p{{i}}")
    for i in range({n})
)
keys = []
for person in people:
    session = SessionStore()
    session[ATTENDEE_SESSION_KEY] = {{"{event}": person.token}}
    session.create()
    keys.append([person.display_name, session.session_key])
print(json.dumps(keys))
"""


def recount(env: dict[str, str], poll: int) -> dict[str, Any]:
    from bench.launcher import django_script

    return django_script(env, RECOUNT.format(poll=poll))


def people_with_sessions(
    env: dict[str, str], event: int, n: int
) -> list[tuple[str, dict[str, str]]]:
    """n attendees made in one go (as n joins would), each with a saved session: their cookies."""
    from bench.launcher import django_script

    keys = django_script(env, PEOPLE.format(event=event, n=n), timeout=120)
    return [(name, with_csrf({"sessionid": key})) for name, key in keys]
