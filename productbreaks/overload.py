"""Overload answers early: a page that would queue longer than a person waits gets 503 now.

A process serves its pages one after another on the database thread. When a whole room scans
the QR code at once, requests pile up faster than they are served; without this, every one of
them waits its turn, the phones give up after half a minute, retry, and the server spends its
time on answers nobody reads (a storm of 2,000 took 265 s on the 2-core bench machine, with
4,400 abandoned handshakes: BENCHMARKS.md, issue 14).

How long a new page request would wait is estimated by Little's law: the requests in flight in
this process divided by how many it completes a second (measured over the last second or so).
Past SHED_AFTER seconds (OVERLOAD_SHED_AFTER, default 10), the request is answered at once, by
this middleware, without reaching Django: 503 with Retry-After (jittered, so a venue's retries
spread out) and a small page that tries again by itself: a GET reloads (a meta refresh, no
script needed); a POST (the join form) is sent again with the same fields by static/js/door.js,
the script the join queue already uses. The page says that it is joining. Static files,
websockets and the health of sockets already open are not touched.

Nginx's limit_req (deploy/) bounds what one address may send; this bounds what the process
accepts from everyone, which nginx cannot know (it does not see how busy daphne is).
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from html import escape
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.utils import translation
from django.utils.translation import gettext as _

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

RATE_WINDOW = 1.0  # seconds over which completions are counted
MAX_BODY = 16 * 1024  # a shed POST is echoed back only if its form is this small (the join form)


class Gauge:
    """Requests in flight, and how many complete per second of busy time (smoothed).

    Only busy time counts (some request in flight): an idle minute says nothing about how fast
    the process serves, and must not make the next request look hopeless.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.in_flight = 0
        self.rate = 0.0  # completions per busy second, smoothed; 0 until measured
        self._busy_since: float | None = None  # when in_flight last went from 0 to 1
        self._last_done: float | None = None  # the last completion while busy
        self._window_busy = 0.0  # busy seconds in the current window, up to _busy_since
        self._window_done = 0

    def started(self) -> None:
        if self.in_flight == 0:
            self._busy_since = self._last_done = self.clock()
        self.in_flight += 1

    def finished(self) -> None:
        now = self.clock()
        self.in_flight -= 1
        self._window_done += 1
        self._last_done = now
        if self.in_flight == 0 and self._busy_since is not None:
            self._window_busy += now - self._busy_since
            self._busy_since = None
        self._roll(now)

    def _busy(self, now: float) -> float:
        return self._window_busy + (now - self._busy_since if self._busy_since is not None else 0)

    def _roll(self, now: float) -> None:
        busy = self._busy(now)
        if busy >= RATE_WINDOW and self._window_done:
            measured = self._window_done / busy
            self.rate = measured if self.rate == 0 else 0.5 * self.rate + 0.5 * measured
            self._window_busy, self._window_done = 0.0, 0
            if self._busy_since is not None:
                self._busy_since = now

    def expected_wait(self) -> float:
        """Seconds a request arriving now would wait (in flight / completions per second)."""
        if self.in_flight == 0:
            return 0.0
        now = self.clock()
        # However fast it was, nothing has completed for this long while requests wait.
        stalled = now - self._last_done if self._last_done is not None else 0.0
        if self.rate == 0:
            return stalled
        return max(self.in_flight / self.rate, stalled)


# One gauge per process: pages and socket connects wait for the same database thread.
GAUGE = Gauge()
# A socket refused before its handshake completes: the client sees the handshake fail (daphne
# answers it 403) and reconnects with backoff, as static/js/live.js does after any drop.
CLOSE_TRY_AGAIN_LATER = 1013


class OverloadGuard:
    """ASGI middleware around the HTTP application and the websocket stack (asgi.py)."""

    def __init__(
        self,
        app: Callable[..., Awaitable[None]],
        *,
        shed_after: float | None = None,
        gauge: Gauge | None = None,
    ):
        self.app = app
        self.shed_after = settings.OVERLOAD_SHED_AFTER if shed_after is None else shed_after
        self.gauge = gauge if gauge is not None else Gauge()
        self.shed = 0  # requests answered early since the process started
        # For drills and the browser test: answer the first N GET and the first N POST page
        # requests early, however idle.
        self.drill = {"GET": settings.OVERLOAD_DRILL_FIRST, "POST": settings.OVERLOAD_DRILL_FIRST}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._socket(scope, receive, send)
            return
        if scope["type"] != "http" or scope["path"].startswith(settings.STATIC_URL):
            await self.app(scope, receive, send)
            return
        wait = self.gauge.expected_wait()
        drill = self.drill.get(scope.get("method", ""), 0) > 0
        if drill or wait > self.shed_after:
            if drill:
                self.drill[scope["method"]] -= 1
            self.shed += 1
            await self._answer_early(scope, receive, send, wait, drill=drill)
            return
        self.gauge.started()
        try:
            await self.app(scope, receive, send)
        finally:
            self.gauge.finished()

    async def _socket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A socket connecting counts until it is accepted or refused (its connect reads the
        database); once open it costs nothing here. Past the wait, it is refused at once."""
        if self.gauge.expected_wait() > self.shed_after:
            self.shed += 1
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER})
            return
        self.gauge.started()
        counted = True

        async def answered(message: dict[str, Any]) -> None:
            nonlocal counted
            if counted and message["type"] in ("websocket.accept", "websocket.close"):
                counted = False
                self.gauge.finished()
            await send(message)

        try:
            await self.app(scope, receive, answered)
        finally:
            if counted:
                self.gauge.finished()

    async def _answer_early(
        self, scope: Scope, receive: Receive, send: Send, wait: float, *, drill: bool = False
    ) -> None:
        body = b""
        while True:  # the form, to send back (only a small one: the join form)
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body") or len(body) > MAX_BODY:
                break
        # Back when the queue should have drained, spread over a few seconds; never past 30 s.
        retry = 2 if drill else int(min(25, max(2, wait / 2)) + random.uniform(0, 5))
        page = shed_page(scope, body if len(body) <= MAX_BODY else b"", retry)
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"retry-after", str(retry).encode()),
                    (b"cache-control", b"no-store"),
                    (b"content-security-policy", SHED_CSP),
                    (b"x-content-type-options", b"nosniff"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": page})


SHED_CSP = (
    b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def shed_page(scope: Scope, body: bytes, retry: int) -> bytes:
    """The page a shed request gets: it says that it is joining, and tries again by itself."""
    path = scope["path"]
    query = scope.get("query_string", b"").decode("latin-1")
    target = escape(path + (f"?{query}" if query else ""))
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Joining…")
        text = _(
            "A lot of people are joining right now. This page tries again by itself in a few "
            "seconds: keep it open."
        )
        again = _("Try again now")
        lang = translation.get_language()
    css = escape(staticfiles_storage.url("css/app.css"))
    if scope.get("method") == "POST":
        fields = "".join(
            f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
            for k, v in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        )
        script = escape(staticfiles_storage.url("js/door.js"))
        action = (
            f'<form method="post" action="{target}" data-retry-form>{fields}'
            f'<button type="submit">{escape(again)}</button></form>'
            f'<script src="{script}" defer></script>'
        )
        refresh = ""
    else:
        action = f'<p><a class="button" href="{target}">{escape(again)}</a></p>'
        refresh = f'<meta http-equiv="refresh" content="{retry}">'
    return (
        f'<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">{refresh}'
        f'<title>{escape(title)}</title><link rel="stylesheet" href="{css}"></head>'
        f'<body><main id="main" class="container"><h1>{escape(title)}</h1>'
        f'<p class="notice" role="status" data-retry-after="{retry}">{escape(text)}</p>'
        f"{action}</main></body></html>"
    ).encode()
