"""The socket's Origin must be our own pages' exact origin: scheme, host and port.

Through the whole ASGI application (productbreaks.asgi) with Channels' communicator, and once
over a real daphne. The foreign hosts, `null` and a missing Origin are in test_csrf_origin.py.
"""

from __future__ import annotations

import asyncio

import pytest
from channels.testing import WebsocketCommunicator

from bench.launcher import Daphne, manage
from productbreaks.asgi import application
from productbreaks.origins import origin_allowed
from tests.servers import create_event, sqlite_env

TRUSTED = ["https://debates.example.org", "https://*.example.net"]


async def handshake(slug: str, headers: list[tuple[bytes, bytes]]) -> bool:
    socket = WebsocketCommunicator(application, f"/ws/e/{slug}/", headers=headers)
    connected, _ = await socket.connect(timeout=5)
    if connected:
        await socket.disconnect()
    return connected


def headers_of(origin: str, host: str = "testserver") -> list[tuple[bytes, bytes]]:
    return [(b"host", host.encode()), (b"origin", origin.encode())]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("origin", "host", "accepted"),
    [
        ("http://testserver", "testserver", True),
        ("https://testserver", "testserver", False),  # wrong scheme
        ("http://testserver:8000", "testserver", False),  # wrong port
        ("http://testserver:80", "testserver", False),  # not the origin a browser sends
        ("ws://testserver", "testserver", False),
        ("http://testserver:8000", "testserver:8000", True),
        ("http://testserver:9999", "testserver:8000", False),  # another port on our host
        ("http://testserver", "testserver:8000", False),
        ("http://evil.example", "evil.example", False),  # a host we do not serve
        ("http://TESTSERVER", "testserver", False),
    ],
)
async def test_a_socket_is_accepted_only_from_our_exact_origin(origin, host, accepted, event):
    assert await handshake(event.slug, headers_of(origin, host)) is accepted


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("origin", "accepted"),
    [("https://testserver", True), ("http://testserver", False)],
)
async def test_behind_https_our_origin_is_the_https_one(origin, accepted, event, settings):
    settings.HTTPS = True
    assert await handshake(event.slug, headers_of(origin)) is accepted


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("origin", "accepted"),
    [
        ("https://debates.example.org", True),
        ("http://debates.example.org", False),
        ("https://debates.example.org:8443", False),
        ("https://other.example.org", False),
        ("https://example.net", True),
        ("https://rooms.example.net", True),
        ("http://rooms.example.net", False),
        ("https://rooms.example.net:8443", False),
        ("https://example.net.evil.example", False),
    ],
)
async def test_a_trusted_origin_is_accepted_exactly_or_by_its_subdomain_pattern(
    origin, accepted, event, settings
):
    settings.CSRF_TRUSTED_ORIGINS = TRUSTED
    assert await handshake(event.slug, headers_of(origin)) is accepted


@pytest.mark.django_db(transaction=True)
async def test_two_origin_headers_are_refused_even_if_one_is_ours(event):
    headers = [*headers_of("http://testserver"), (b"origin", b"http://evil.example")]
    assert await handshake(event.slug, headers) is False


def test_without_a_host_header_only_trusted_origins_pass(settings):
    settings.CSRF_TRUSTED_ORIGINS = TRUSTED
    assert origin_allowed("http://testserver", None) is False
    assert origin_allowed("https://debates.example.org", None) is True


def test_with_debug_and_no_allowed_hosts_djangos_local_hosts_are_ours(settings):
    settings.DEBUG, settings.ALLOWED_HOSTS = True, []
    assert origin_allowed("http://localhost:8000", "localhost:8000") is True
    assert origin_allowed("http://127.0.0.1:8000", "127.0.0.1:8000") is True
    assert origin_allowed("http://example.org", "example.org") is False
    settings.DEBUG = False
    assert origin_allowed("http://localhost:8000", "localhost:8000") is False


# ---------------------------------------------------------------- over real daphne


async def real_handshake(server: Daphne, slug: str, origin: str) -> int:
    """101 when the socket opened, else the HTTP status daphne answered the handshake with."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    try:
        socket = await connect(f"{server.ws_url}/ws/e/{slug}/", origin=origin, open_timeout=20)
    except InvalidStatus as refused:
        return refused.response.status_code
    await socket.close()
    return 101


@pytest.mark.slow
def test_over_daphne_another_port_or_scheme_of_our_host_is_refused(tmp_path):
    env = sqlite_env(tmp_path / "db.sqlite3")
    manage(env, "migrate", "--noinput")
    slug = create_event(env)["slug"]
    with Daphne(env) as server:
        own = f"http://127.0.0.1:{server.port}"

        async def attempts() -> dict[str, int]:
            origins = [own, "http://127.0.0.1:9999", f"https://127.0.0.1:{server.port}"]
            return {origin: await real_handshake(server, slug, origin) for origin in origins}

        assert asyncio.run(attempts()) == {
            own: 101,
            "http://127.0.0.1:9999": 403,
            f"https://127.0.0.1:{server.port}": 403,
        }
        assert server.errors() == []
