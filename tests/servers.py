"""Real servers for tests: daphne subprocesses, their database, and clients that act like browsers.

    with Daphne(env) as server:           # a free port, waits until it accepts, logs to a file
        cookies = await join(server.url, code)
        ...
    server.errors()                       # tracebacks / ERROR lines from its log

`env` (from `sqlite_env` or `postgres_env`) names the database and, optionally, REDIS_URL;
`manage(env, ...)` and `django_script(env, code)` run against the same database in a
subprocess, so a test process configured for its own test database can set up and recount.
On failure a server's log is shown; on teardown its whole process group is killed.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# Variables of the test process that must not leak into a server's configuration.
_SCRUB = {
    "DATABASE_URL",
    "REDIS_URL",
    "SQLITE_PATH",
    "DEBUG",
    "DJANGO_SETTINGS_MODULE",
}


class ServerFailed(RuntimeError):
    pass


SERVER_SECRET_KEY = "test-only-server-secret-0123456789abcdef0123456789"


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env |= {
        "DJANGO_SETTINGS_MODULE": "productbreaks.settings",
        "SECRET_KEY": SERVER_SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "HTTPS": "0",
        "SERVE_STATIC": "1",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    return env | extra


def sqlite_env(path: Path, **extra: str) -> dict[str, str]:
    return base_env(SQLITE_PATH=str(path), **extra)


def postgres_env(database_url: str, **extra: str) -> dict[str, str]:
    return base_env(DATABASE_URL=database_url, **extra)


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise ServerFailed(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def django_script(env: dict[str, str], code: str, timeout: float = 60) -> Any:
    """Runs `code` with Django set up on env's database; returns the JSON it prints last."""
    prelude = "import json, django\ndjango.setup()\n"
    result = subprocess.run(
        [sys.executable, "-c", prelude + code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise ServerFailed(f"script failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daphne:
    """One daphne process serving productbreaks.asgi on 127.0.0.1 at a free port."""

    def __init__(self, env: dict[str, str], *, name: str = "daphne", startup: float = 30) -> None:
        self.env = env
        self.name = name
        self.startup = startup
        self.log_path = Path(tempfile.mkstemp(prefix=f"pb-{name}-", suffix=".log")[1])
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def errors(self) -> list[str]:
        """Lines that show a server-side failure (tracebacks, ERROR logs, 500s)."""
        markers = ("Traceback", "ERROR", "Internal Server Error", "CRITICAL")
        return [line for line in self.log().splitlines() if any(m in line for m in markers)]

    def start(self) -> Daphne:
        for _attempt in range(3):  # a free port can be taken between choosing and binding
            self.port = free_port()
            with self.log_path.open("ab") as log:
                self.proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "daphne",
                        "-b",
                        "127.0.0.1",
                        "-p",
                        str(self.port),
                        "productbreaks.asgi:application",
                    ],
                    cwd=REPO,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group, killed as one
                )
            if self._wait_until_accepting():
                return self
            if "Address already in use" not in self.log():
                break
        self.stop()
        raise ServerFailed(f"{self.name} did not start. Its log:\n{self.log()}")

    def _wait_until_accepting(self) -> bool:
        deadline = time.monotonic() + self.startup
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        except ProcessLookupError:
            pass

    def __enter__(self) -> Daphne:
        return self.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        self.stop()
        if exc_type is not None:
            sys.stderr.write(
                f"\n--- {self.name} log ({self.log_path}) ---\n{self.log()[-20000:]}\n"
            )


# ---------------------------------------------------------------- browser-like clients


_SSL_CONTEXT = None


def http_client(base_url: str, cookies: dict[str, str] | None = None, timeout: float = 60):
    """An httpx.AsyncClient with its own cookie jar. They share one SSL context: building a
    fresh one costs ~50 ms of CPU per client, which dominated a 200-attendee test."""
    global _SSL_CONTEXT
    import ssl

    import httpx

    if _SSL_CONTEXT is None:
        _SSL_CONTEXT = ssl.create_default_context()
    return httpx.AsyncClient(
        base_url=base_url, cookies=cookies, timeout=timeout, verify=_SSL_CONTEXT
    )


async def join(
    base_url: str, code: str, display_name: str = "", *, fetch_form: bool = True
) -> dict[str, str]:
    """Joins an event the way a browser does (CSRF cookie, form POST); returns the cookies.

    fetch_form=False skips GET /join/ and brings its own CSRF cookie, as Django accepts any
    well-formed one: half the requests, for tests that join hundreds of attendees.
    """
    async with http_client(base_url) as client:
        if fetch_form:
            response = await client.get("/join/")
            response.raise_for_status()
        else:
            client.cookies.set("csrftoken", secrets.token_hex(16), domain="127.0.0.1")
        token = client.cookies["csrftoken"]
        response = await client.post(
            "/join/",
            data={"code": code, "display_name": display_name, "csrfmiddlewaretoken": token},
        )
        if response.status_code != 302:
            raise ServerFailed(f"join failed: {response.status_code} {response.text[:500]}")
        return dict(client.cookies)


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


async def open_socket(server: Daphne, slug: str, cookies: dict[str, str] | None = None):
    """A websocket to the event, as the page opens it (same-origin, with the session)."""
    from websockets.asyncio.client import connect

    headers = {"Cookie": cookie_header(cookies)} if cookies else {}
    return await connect(
        f"{server.ws_url}/ws/e/{slug}/",
        origin=server.url,
        additional_headers=headers,
        open_timeout=20,
        max_size=2**22,
    )


async def until(ws, predicate, timeout: float = 20) -> dict[str, Any]:
    """The first message from `ws` that satisfies `predicate`."""
    import asyncio

    async def wait() -> dict[str, Any]:
        while True:
            message = json.loads(await ws.recv())
            if predicate(message):
                return message

    return await asyncio.wait_for(wait(), timeout)


SETUP_EVENT = """
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from debates.services import voting
from debates.models import PollKind
from events.services import event_create
user = get_user_model().objects.create_user("org-{n}")
event = event_create(organiser=user, title="Load {n}", motion="Tests prove it.",
                     starts_at=timezone.now() + timedelta(hours=1))
poll = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
print(json.dumps({{"slug": event.slug, "code": event.join_code, "poll": poll.pk,
                   "event": event.pk, "host_key": event.host_key}}))
"""


def create_event(env: dict[str, str], n: int = 1) -> dict[str, Any]:
    """An event with an open pre-vote, in env's database."""
    return django_script(env, SETUP_EVENT.format(n=n))


def screen_code(setup: dict[str, Any]) -> str:
    """The code the event's screen shows now, as a person in the room reads it: computed with
    the servers' SECRET_KEY, as their projector would show it."""
    from django.test import override_settings

    from events.admission import screen_code as code_of
    from events.models import Event

    with override_settings(SECRET_KEY=SERVER_SECRET_KEY):
        return code_of(Event(pk=setup["event"], host_key=setup["host_key"]))
