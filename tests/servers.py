"""Servers for tests, started by the one launcher (bench.launcher), and clients that act like
browsers.

    env = sqlite_env(path)                 # or postgres_env(url, REDIS_URL=...)
    manage(env, "migrate", "--noinput")    # bench.launcher's manage and django_script
    with Daphne(env) as server:            # bench.launcher.Daphne: a free port, a log file
        cookies = await join(server.url, code)
        ...
    server.errors()                        # tracebacks / ERROR lines from its log

Servers here share one SECRET_KEY (SERVER_SECRET_KEY), so a test can work out the code an
event's screen shows (screen_code). On failure a server's log is shown; on teardown its whole
process group is stopped.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from bench.launcher import Daphne, ServerError, django_script, server_env

SERVER_SECRET_KEY = "test-only-server-secret-0123456789abcdef0123456789"


def sqlite_env(path: Path, **extra: str) -> dict[str, str]:
    base = {"SECRET_KEY": SERVER_SECRET_KEY, "SERVE_STATIC": "1", "SQLITE_PATH": str(path)}
    return server_env(**(base | extra))


def postgres_env(database_url: str, **extra: str) -> dict[str, str]:
    base = {"SECRET_KEY": SERVER_SECRET_KEY, "SERVE_STATIC": "1", "DATABASE_URL": database_url}
    return server_env(**(base | extra))


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
            raise ServerError(f"join failed: {response.status_code} {response.text[:500]}")
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
