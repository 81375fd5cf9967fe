"""productbreaks/overload.py: a page that would queue past what a person waits is answered 503
at once, with Retry-After and a page that tries again by itself; nothing else is touched."""

from __future__ import annotations

import asyncio

import pytest
from django.test import override_settings

from productbreaks.overload import Gauge, OverloadGuard


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_idle_minute_does_not_make_the_next_request_look_hopeless():
    clock = Clock()
    gauge = Gauge(clock)
    for _ in range(120):  # 50 requests a second, one at a time, for 2.4 s
        gauge.started()
        clock.now += 0.02
        gauge.finished()
    assert gauge.rate == pytest.approx(50, rel=0.05)
    clock.now += 60  # nobody for a minute
    gauge.started()
    assert gauge.expected_wait() < 0.1  # itself alone: one 50th of a second, not a minute


def test_expected_wait_is_the_queue_over_the_rate_of_completions():
    clock = Clock()
    gauge = Gauge(clock)
    for _ in range(250):  # 100 a second, for 2.5 s
        gauge.started()
        clock.now += 0.01
        gauge.finished()
    for _ in range(2000):  # a room arrives at once
        gauge.started()
    assert gauge.expected_wait() == pytest.approx(20, rel=0.1)  # 2,000 / 100 a second


def test_a_stall_counts_even_before_any_rate_is_known():
    clock = Clock()
    gauge = Gauge(clock)
    gauge.started()
    gauge.started()
    clock.now += 12  # nothing completed for 12 s
    assert gauge.expected_wait() == pytest.approx(12)


class App:
    """Django's place in the chain: records what reached it."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def __call__(self, scope, receive, send):
        self.calls.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def call(guard, method: str, path: str, body: bytes = b"", query: bytes = b""):
    scope = {"type": "http", "method": method, "path": path, "query_string": query}
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    await guard(scope, receive, send)
    start = sent[0]
    headers = {k.decode(): v.decode() for k, v in start.get("headers", [])}
    return start["status"], headers, sent[1]["body"].decode()


def busy(guard: OverloadGuard, seconds: float) -> None:
    """The guard's gauge as if requests were queued `seconds` deep."""
    clock = Clock()
    guard.gauge = Gauge(clock)
    for _ in range(10):
        guard.gauge.started()
        clock.now += 0.1
        guard.gauge.finished()
    for _ in range(int(seconds * 10) + 1):
        guard.gauge.started()


@pytest.mark.asyncio
async def test_a_page_is_served_while_the_queue_is_short():
    app = App()
    guard = OverloadGuard(app, shed_after=10)
    busy(guard, 5)
    status, _, body = await call(guard, "GET", "/join/")
    assert (status, body, app.calls) == (200, "ok", ["/join/"])


@pytest.mark.asyncio
async def test_a_page_that_would_wait_too_long_gets_503_retry_after_and_a_page_that_reloads():
    app = App()
    guard = OverloadGuard(app, shed_after=10)
    busy(guard, 40)
    status, headers, body = await call(guard, "GET", "/j/ABC123/", query=b"x=<1>")
    assert status == 503 and app.calls == []
    retry = int(headers["retry-after"])
    assert 2 <= retry <= 30
    assert f'<meta http-equiv="refresh" content="{retry}">' in body
    assert f'data-retry-after="{retry}"' in body and "joining" in body.lower()
    assert 'href="/j/ABC123/?x=&lt;1&gt;"' in body  # the same page, escaped
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store"
    assert guard.shed == 1


@pytest.mark.asyncio
async def test_a_shed_join_form_is_sent_again_with_the_same_fields_by_the_page():
    guard = OverloadGuard(App(), shed_after=10)
    busy(guard, 40)
    form = b"csrfmiddlewaretoken=tok&code=AB12CD&display_name=%3Cb%3EAda%3C%2Fb%3E"
    status, _, body = await call(guard, "POST", "/join/", body=form)
    assert status == 503
    assert '<form method="post" action="/join/" data-retry-form>' in body
    assert '<input type="hidden" name="code" value="AB12CD">' in body
    assert 'name="display_name" value="&lt;b&gt;Ada&lt;/b&gt;"' in body  # escaped, not markup
    assert "js/door" in body  # the join queue's retry script, by its static URL


@pytest.mark.asyncio
async def test_static_files_are_never_shed():
    app = App()
    guard = OverloadGuard(app, shed_after=10)
    busy(guard, 40)
    status, _, _ = await call(guard, "GET", "/static/css/app.css")
    assert status == 200


async def connect_socket(guard: OverloadGuard) -> list[dict]:
    sent: list[dict] = []

    async def receive():
        return {"type": "websocket.connect"}

    async def send(message):
        sent.append(message)

    await guard({"type": "websocket", "path": "/ws/e/x/"}, receive, send)
    return sent


@pytest.mark.asyncio
async def test_a_socket_counts_while_it_connects_and_is_refused_1013_when_the_wait_is_too_long():
    seen: list[int] = []

    async def accepting(scope, receive, send):
        await receive()
        seen.append(guard.gauge.in_flight)  # counted while it connects...
        await send({"type": "websocket.accept"})
        seen.append(guard.gauge.in_flight)  # ...and no more once it is open

    guard = OverloadGuard(accepting, shed_after=10)
    assert await connect_socket(guard) == [{"type": "websocket.accept"}]
    assert seen == [1, 0]
    busy(guard, 40)
    refused = await connect_socket(guard)
    assert refused == [{"type": "websocket.close", "code": 1013}]  # before any work
    assert guard.shed == 1 and seen == [1, 0]


@pytest.mark.asyncio
async def test_a_drill_sheds_the_first_get_and_post_however_idle():
    app = App()
    with override_settings(OVERLOAD_DRILL_FIRST=1):
        guard = OverloadGuard(app, shed_after=10)
    assert (await call(guard, "GET", "/join/"))[0] == 503
    assert (await call(guard, "GET", "/join/"))[0] == 200
    assert (await call(guard, "POST", "/join/", body=b"a=1"))[0] == 503
    assert (await call(guard, "POST", "/join/", body=b"a=1"))[0] == 200


@pytest.mark.asyncio
async def test_requests_in_flight_are_counted_until_they_end_even_when_they_fail():
    async def failing(scope, receive, send):
        await asyncio.sleep(0)
        raise RuntimeError("boom")

    guard = OverloadGuard(failing, shed_after=10)
    with pytest.raises(RuntimeError):
        await call(guard, "GET", "/e/x/")
    assert guard.gauge.in_flight == 0
