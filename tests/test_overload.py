"""productbreaks/overload.py: a page that would queue past what a person waits is answered 503
at once, with Retry-After and a page that tries again by itself; nothing else is touched."""

from __future__ import annotations

import asyncio

import pytest
from django.test import override_settings

from productbreaks import overload
from productbreaks.overload import QUEUE_WINDOW, OverloadGuard, QueueDelay


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_expected_wait_is_the_longest_wait_seen_lately_and_it_ages_out():
    clock = Clock()
    queue = QueueDelay(clock)
    assert queue.expected_wait() == 0.0  # a process that has served nothing yet admits
    for waited in (0.2, 14.0, 3.0):
        queue.observe(waited)
        clock.now += 0.5
    assert queue.expected_wait() == 14.0
    clock.now += QUEUE_WINDOW  # the long waits drained; nothing long seen since
    assert queue.expected_wait() == 0.0


def test_a_slow_start_does_not_make_a_crowd_look_hopeless():
    """The first estimator (in flight over completions a second) shed 20 sockets after a slow
    first second; waits actually seen do not."""
    clock = Clock()
    queue = QueueDelay(clock)
    queue.observe(2.5)  # the first page after a restart: templates compiled, imports
    for _ in range(40):
        queue.observe(0.05)
        clock.now += 0.02
    assert queue.expected_wait() == 2.5 < 10


class App:
    """Django's place in the chain: records what reached it."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def __call__(self, scope, receive, send):
        self.calls.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def call(
    guard, method: str, path: str, body: bytes = b"", query: bytes = b"", cookie: bytes = b""
):
    scope = {"type": "http", "method": method, "path": path, "query_string": query}
    scope["headers"] = [(b"cookie", cookie)] if cookie else []
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
    """The guard's queue as if pages had lately waited `seconds` for the database thread."""
    guard.queue = QueueDelay(Clock())
    guard.queue.observe(seconds)


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
async def test_a_socket_is_refused_1013_before_any_work_when_the_wait_is_too_long():
    reached: list[str] = []

    async def accepting(scope, receive, send):
        await receive()
        reached.append(scope["path"])
        await send({"type": "websocket.accept"})

    guard = OverloadGuard(accepting, shed_after=10)
    busy(guard, 5)
    assert await connect_socket(guard) == [{"type": "websocket.accept"}]
    busy(guard, 40)
    refused = await connect_socket(guard)
    assert refused == [{"type": "websocket.close", "code": 1013}]  # before any work
    assert guard.shed == 1 and reached == ["/ws/e/x/"]


@pytest.mark.asyncio
async def test_a_drill_sheds_the_first_get_and_post_however_idle():
    app = App()
    with override_settings(OVERLOAD_DRILL_FIRST=1):
        guard = OverloadGuard(app, shed_after=10)
    assert (await call(guard, "GET", "/join/"))[0] == 503
    assert (await call(guard, "GET", "/join/"))[0] == 200
    assert (await call(guard, "POST", "/join/", body=b"a=1"))[0] == 503
    assert (await call(guard, "POST", "/join/", body=b"a=1"))[0] == 200


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_every_page_records_how_long_it_waited_for_the_database_thread():
    from productbreaks.asgi import django_asgi_app
    from productbreaks.overload import QUEUE

    before = QUEUE.observed
    sent: list[dict] = []
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the client stays: no disconnect

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http", "method": "GET", "path": "/", "query_string": b"",  # a sync view
        "headers": [(b"host", b"testserver")], "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000), "scheme": "http", "root_path": "",
        "asgi": {"version": "3.0"},
    }  # fmt: skip
    await django_asgi_app(scope, receive, send)
    assert sent[0]["status"] == 200
    assert QUEUE.observed == before + 1 and QUEUE.samples[-1][1] >= 0


class Held(App):
    """Pages that stay in flight (being served) until released."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def __call__(self, scope, receive, send):
        self.calls.append(scope["path"])
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def fill(guard: OverloadGuard, app: Held, n: int) -> list[asyncio.Task]:
    pages = [asyncio.create_task(call(guard, "GET", "/join/")) for _ in range(n)]
    while len(app.calls) < n:
        await asyncio.sleep(0)
    return pages


async def settle(guard: OverloadGuard, app: Held, *, reached: int, in_line: int) -> None:
    """Lets the tasks run until `reached` pages got to the app and `in_line` wait outside."""
    for _ in range(1000):
        if len(app.calls) == reached and len(guard.line) == in_line:
            return
        await asyncio.sleep(0)
    raise AssertionError((len(app.calls), len(guard.line)))


@pytest.mark.asyncio
async def test_while_the_process_is_full_a_newcomer_waits_in_line_and_anyone_on_their_way_goes_on():
    app = Held()
    guard = OverloadGuard(app, shed_after=10, max_in_flight=2, queue_wait=20)
    pages = await fill(guard, app, 2)
    # Someone's first page (no cookie) waits outside: Django has not seen it.
    newcomer = asyncio.create_task(call(guard, "GET", "/j/ABC123/"))
    await settle(guard, app, reached=2, in_line=1)
    # Someone on their way (the join form they were given set the CSRF cookie; the event page
    # comes with the session) goes straight in, however full.
    on_their_way = [
        asyncio.create_task(call(guard, "POST", "/join/", body=b"a=1", cookie=b"csrftoken=t")),
        asyncio.create_task(call(guard, "GET", "/e/x/", cookie=b"theme=1; sessionid=s")),
    ]
    await settle(guard, app, reached=4, in_line=1)
    app.release.set()  # pages finish: the newcomer is called in, and served
    results = await asyncio.gather(*pages, *on_their_way, newcomer)
    assert [page[0] for page in results] == [200] * 5
    assert app.calls[-1] == "/j/ABC123/"
    assert guard.in_flight == 0 and guard.shed == 0 and not guard.line


@pytest.mark.asyncio
async def test_a_newcomer_not_let_in_within_the_wait_allowed_is_asked_back_soon():
    app = Held()
    guard = OverloadGuard(app, shed_after=10, max_in_flight=1, queue_wait=0.05)
    pages = await fill(guard, app, 1)
    status, headers, body = await call(guard, "GET", "/j/ABC123/")
    # Not let in within the wait allowed: 503, back in 2 s (plus up to 5 s of jitter).
    assert status == 503 and 2 <= int(headers["retry-after"]) < 7
    assert "joining" in body.lower() and guard.shed == 1 and not guard.line
    app.release.set()
    assert [page[0] for page in await asyncio.gather(*pages)] == [200]
    assert guard.in_flight == 0
    assert (await call(guard, "GET", "/j/ABC123/"))[0] == 200  # room again


@pytest.mark.asyncio
async def test_a_full_line_sends_the_next_newcomer_away_at_once(monkeypatch):
    monkeypatch.setattr(overload, "MAX_LINE", 3)
    app = Held()
    guard = OverloadGuard(app, shed_after=10, max_in_flight=1, queue_wait=20)
    pages = await fill(guard, app, 1)
    pages += [asyncio.create_task(call(guard, "GET", "/join/")) for _ in range(3)]
    await settle(guard, app, reached=1, in_line=3)
    status, headers, _ = await call(guard, "GET", "/j/ABC123/")
    assert status == 503 and 20 <= int(headers["retry-after"]) < 26  # the line's wait
    # Someone on their way is never sent away by the line.
    on_their_way = asyncio.create_task(call(guard, "GET", "/e/x/", cookie=b"sessionid=s"))
    await settle(guard, app, reached=2, in_line=3)
    app.release.set()
    assert [page[0] for page in await asyncio.gather(*pages, on_their_way)] == [200] * 5
    assert guard.in_flight == 0 and not guard.line


@pytest.mark.asyncio
async def test_a_newcomer_who_leaves_the_line_gives_their_place_to_the_next():
    app = Held()
    guard = OverloadGuard(app, shed_after=10, max_in_flight=1, queue_wait=20)
    pages = await fill(guard, app, 1)
    gone, stays = (asyncio.create_task(call(guard, "GET", f"/j/{n}/")) for n in ("gone", "stays"))
    await settle(guard, app, reached=1, in_line=2)
    gone.cancel()  # the phone gave up
    await settle(guard, app, reached=1, in_line=1)
    app.release.set()
    assert [page[0] for page in await asyncio.gather(*pages, stays)] == [200, 200]
    assert app.calls == ["/join/", "/j/stays/"] and guard.in_flight == 0


def test_a_newcomer_is_told_by_the_cookie_names_themselves():
    def scope(cookie: bytes) -> dict:
        return {"headers": [(b"cookie", cookie)]}

    assert overload.newcomer({"headers": []})
    assert overload.newcomer(scope(b"theme=dark; xsessionid=1; mycsrftoken=2"))
    assert not overload.newcomer(scope(b"theme=dark; sessionid=1"))
    assert not overload.newcomer(scope(b"csrftoken=2"))
