"""Helpers for socket tests: sessions like a browser's, and a communicator on the real stack."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.backends.db import SessionStore

from debates.selectors import ATTENDEE_SESSION_KEY, HOST_SESSION_KEY
from productbreaks.asgi import application


def session_for(*, attendee=None, host_event=None) -> str:
    """A saved session, as a browser gets from joining (attendee) or the host link; its key."""
    session = SessionStore()
    if attendee is not None:
        session[ATTENDEE_SESSION_KEY] = {str(attendee.event_id): attendee.token}
    if host_event is not None:
        session[HOST_SESSION_KEY] = {str(host_event.pk): host_event.host_key}
    session.create()
    return session.session_key


async def open_socket(slug: str, session_key: str | None = None) -> WebsocketCommunicator:
    """Connects through the whole ASGI stack (origin check, sessions, auth, routing)."""
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if session_key:
        headers.append((b"cookie", f"sessionid={session_key}".encode()))
    communicator = WebsocketCommunicator(application, f"/ws/e/{slug}/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


async def receive(communicator: WebsocketCommunicator, timeout: float = 3) -> dict[str, Any]:
    return json.loads(await communicator.receive_from(timeout=timeout))


async def receive_until(
    communicator: WebsocketCommunicator, predicate, timeout: float = 3
) -> dict[str, Any]:
    """The first message that satisfies `predicate`; fails after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        remaining = deadline - loop.time()
        assert remaining > 0, "no matching message arrived"
        message = await receive(communicator, timeout=remaining)
        if predicate(message):
            return message


async def initial(communicator: WebsocketCommunicator) -> dict[str, list[dict[str, Any]]]:
    """The messages a socket gets on connect, by type (they arrive at once, in one burst)."""
    by_type: dict[str, list[dict[str, Any]]] = {}
    while True:
        message = await receive(communicator)
        by_type.setdefault(message["type"], []).append(message)
        if message["type"] == "you.synced":
            return by_type


def in_thread(func):
    return database_sync_to_async(func)
