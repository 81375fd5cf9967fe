"""Overload answers early: a page that would queue longer than a person waits gets 503 now.

A process serves its pages one after another on the database thread. When a whole room scans
the QR code at once, requests pile up faster than they are served; without this, every one of
them waits its turn, the phones give up after half a minute, retry, and the server spends its
time on answers nobody reads (a storm of 2,000 took 265 s on the 2-core bench machine, with
4,400 abandoned handshakes: BENCHMARKS.md, issue 14).

How long a new request would wait is read off the queue itself: each page records how long it
waited for the database thread before it was served (`on_database_thread`, used by
debates.live.transport.OneHopASGIHandler for sync pages and by the front door's async views),
and the longest wait seen in the last QUEUE_WINDOW seconds stands for
what a newcomer faces. (An estimate from the requests in flight over the rate they complete was
tried first: after a restart its first, slow windows made 20 sockets look like 10 s of work,
and it shed a room that was in fact served in a second: tests/debates/test_concurrency.py.)
Past SHED_AFTER seconds (OVERLOAD_SHED_AFTER, default 10), a page is answered at once, by this
middleware, without reaching Django: 503 with Retry-After (jittered, so a venue's retries spread
out) and a small page that tries again by itself: a GET reloads (a meta refresh, no script
needed); a POST (the join form) is sent again with the same fields by static/js/door.js, the
script the join queue already uses. The page says that it is joining. A socket connecting then
is refused before its handshake (1013); the page reconnects with backoff. Static files and the
sockets already open are not touched. Once shedding lets the queue drain, no more long waits are
seen and, QUEUE_WINDOW later, everything is admitted again.

Waits seen come too late in a storm, though: by the time a page has waited 10 s, the thousands
asked for in the first seconds are all admitted and all wait minutes (a storm of 2,000 took
315 s, half its requests abandoned after 60 s: BENCHMARKS.md). So admission is also bounded
at the door. While MAX_IN_FLIGHT pages (OVERLOAD_MAX_IN_FLIGHT, default 48) are being served, a
*newcomer* (a request with neither a session nor a CSRF cookie: someone's first page) waits
outside, in line, costing nothing but a future; anyone already on their way (the join form's
POST, the event page, the panels it loads, the socket) carries a cookie and goes straight in, so
the process finishes the joins it started before it starts new ones. A newcomer not let in
within QUEUE_WAIT seconds (OVERLOAD_QUEUE_WAIT, default 20) is answered 503 with a short
Retry-After and comes back (so no request waits more than about 20 s); a line of MAX_LINE
people sends the next away at once. Waiting in line rather than being sent away keeps the
process busy with joins, not with answering retries. Two designs measured first (BENCHMARKS.md):
sending everyone beyond the bound away answered 4,901 requests with 503 in a storm of 2,000, and
the process sat idle a fifth of the time while they were away; a line as long as the recent
rate could serve in 20 s guessed the rate low after a quiet spell, sent 1,229 away for 20 s,
and the process sat idle a quarter of the time.

Nginx's limit_req (deploy/) bounds what one address may send; this bounds what the process
accepts from everyone, which nginx cannot know (it does not see how busy daphne is).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from html import escape
from typing import Any
from urllib.parse import parse_qsl

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.utils import translation
from django.utils.translation import gettext as _

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

QUEUE_WINDOW = 2.0  # seconds of observed waits that stand for what a newcomer faces
MAX_LINE = 10_000  # newcomers in line in one process (a future each); the next is sent away
MAX_RETRY = 25  # seconds; with the jitter a shed page is back within 30 s
MAX_BODY = 16 * 1024  # a shed POST is echoed back only if its form is this small (the join form)


class QueueDelay:
    """How long work waited for the database thread lately (the longest in QUEUE_WINDOW)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        # (observed at, waited seconds), the waits decreasing: a wait followed by a longer one
        # can never be the longest again, so it goes. The longest is then the first, and every
        # request reads it in O(1) (a storm's thousands of waits a second made max() over all
        # of them 1 % of the server's time).
        self.samples: deque[tuple[float, float]] = deque()
        self.observed = 0

    def observe(self, waited: float) -> None:
        now = self.clock()
        self.observed += 1
        while self.samples and self.samples[-1][1] <= waited:
            self.samples.pop()
        self.samples.append((now, waited))
        self._trim(now)

    def _trim(self, now: float) -> None:
        while self.samples and now - self.samples[0][0] > QUEUE_WINDOW:
            self.samples.popleft()

    def expected_wait(self) -> float:
        self._trim(self.clock())
        return self.samples[0][1] if self.samples else 0.0


# One per process: pages and socket connects wait for the same database thread.
QUEUE = QueueDelay()


def newcomer(scope: Scope) -> bool:
    """A first page: neither a session nor a CSRF cookie (both are set by the join pages)."""
    names = {settings.SESSION_COOKIE_NAME.encode(), settings.CSRF_COOKIE_NAME.encode()}
    for key, value in scope.get("headers", ()):
        if key == b"cookie" and any(
            part.split(b"=", 1)[0].strip() in names for part in value.split(b";")
        ):
            return False
    return True


def on_database_thread(fn: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """`sync_to_async(fn)` (the database thread) that records in QUEUE how long the call waited
    for it: every sync page (debates.live.transport.OneHopASGIHandler) and every database step
    of the front door's async views (debates.door_views) goes through here."""

    async def call(*args: Any, **kwargs: Any) -> Any:
        queued = time.monotonic()

        def served() -> Any:
            QUEUE.observe(time.monotonic() - queued)
            return fn(*args, **kwargs)

        return await sync_to_async(served, thread_sensitive=True)()

    return call


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
        max_in_flight: int | None = None,
        queue_wait: float | None = None,
        queue: QueueDelay | None = None,
    ):
        self.app = app
        self.shed_after = settings.OVERLOAD_SHED_AFTER if shed_after is None else shed_after
        self.max_in_flight = (
            settings.OVERLOAD_MAX_IN_FLIGHT if max_in_flight is None else max_in_flight
        )
        self.queue = queue if queue is not None else QUEUE
        self.queue_wait = settings.OVERLOAD_QUEUE_WAIT if queue_wait is None else queue_wait
        self.shed = 0  # requests answered early since the process started
        self.in_flight = 0  # pages being served now (and places kept for those called in)
        self.line: deque[asyncio.Future] = deque()  # newcomers waiting to be let in, in order
        # For drills and the browser test: answer the first N GET and the first N POST page
        # requests early, however idle.
        self.drill = {"GET": settings.OVERLOAD_DRILL_FIRST, "POST": settings.OVERLOAD_DRILL_FIRST}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            if self.queue.expected_wait() > self.shed_after:
                self.shed += 1
                await receive()  # websocket.connect
                await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER})
                return
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http" or scope["path"].startswith(settings.STATIC_URL):
            await self.app(scope, receive, send)
            return
        wait = self.queue.expected_wait()
        drill = self.drill.get(scope.get("method", ""), 0) > 0
        lines_up = bool(self.max_in_flight) and newcomer(scope)
        line_full = lines_up and len(self.line) >= MAX_LINE
        if drill or wait > self.shed_after or line_full:
            if drill:
                self.drill[scope["method"]] -= 1
            # Back when the queue should have drained (half the wait seen: it drains while they
            # are away), or when the line has moved on.
            back_in = max(wait / 2, self.queue_wait if line_full else 0)
            await self._answer_early(scope, receive, send, back_in, drill=drill)
            return
        if lines_up:
            if not await self._enter():
                # Not let in within QUEUE_WAIT: back soon, to the end of the line.
                await self._answer_early(scope, receive, send, 0)
                return
        else:
            self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self._leave()

    async def _enter(self) -> bool:
        """A newcomer's way in: at once while there is room, else in line until called in
        (the caller keeps the place: in_flight counts it). False: not within QUEUE_WAIT."""
        if self.in_flight < self.max_in_flight and not self.line:
            self.in_flight += 1
            return True
        called = asyncio.get_running_loop().create_future()
        self.line.append(called)
        try:
            await asyncio.wait_for(asyncio.shield(called), self.queue_wait)
        except TimeoutError:
            if called.done():
                return True  # called in just as the wait ended: in it goes
            called.cancel()
            self.line.remove(called)
            return False
        except asyncio.CancelledError:
            if called.done():
                self._leave()  # called in just as the client went: the place goes on
            else:
                called.cancel()
                self.line.remove(called)
            raise
        return True

    def _leave(self) -> None:
        self.in_flight -= 1
        while self.line and self.in_flight < self.max_in_flight:
            called = self.line.popleft()
            if not called.done():
                self.in_flight += 1
                called.set_result(None)

    async def _answer_early(
        self, scope: Scope, receive: Receive, send: Send, back_in: float, *, drill: bool = False
    ) -> None:
        self.shed += 1
        body = b""
        while True:  # the form, to send back (only a small one: the join form)
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body") or len(body) > MAX_BODY:
                break
        # Spread over a few seconds, so a venue's retries do not come back at once; within 30 s.
        retry = 2 if drill else int(min(MAX_RETRY, max(2, back_in)) + random.uniform(0, 5))
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
