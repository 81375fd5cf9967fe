"""Shared fixtures: people (organiser, host, attendee, stranger), events, and real services.

PostgreSQL and Redis tests skip when the service is absent, unless REQUIRE_SERVICES=1 (as in CI),
which turns a missing service into a failure.
"""

from __future__ import annotations

import os
import secrets
import socket
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from events.models import Attendee, Event, Side, Speaker, SpeakerRole, Theme
from events.services import event_create
from tests.mail_server import SmtpServer

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
REPO = Path(__file__).resolve().parent.parent


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def _service_missing(name: str, url: str) -> None:
    message = f"{name} is not reachable at {url}"
    if REQUIRE_SERVICES:
        pytest.fail(message + " and REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(reason=message)


@pytest.fixture
def redis_url(worker_id) -> Iterator[str]:
    """A Redis URL on a database of its own, flushed after the test. Each pytest-xdist worker
    (`make test` runs two) has its own database, so one's flush never empties another's."""
    if not _reachable(TEST_REDIS_URL, 6379):
        _service_missing("Redis", TEST_REDIS_URL)
    import redis

    base = TEST_REDIS_URL.rsplit("/", 1)[0]
    worker = int(worker_id.removeprefix("gw")) if worker_id.startswith("gw") else 0
    url = f"{base}/{worker % 15 + 1}"
    yield url
    redis.Redis.from_url(url).flushdb()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for a test that runs servers against it; dropped after."""
    if not _reachable(TEST_DATABASE_URL, 5432):
        _service_missing("PostgreSQL", TEST_DATABASE_URL)
    import psycopg

    name = f"pb_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parsed = urlparse(TEST_DATABASE_URL)
    yield parsed._replace(path=f"/{name}").geturl()
    with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Pages name static files by their hashed names from collectstatic's manifest (DEBUG is
    off in tests), and the test servers serve STATIC_ROOT: collect once, before any test. Only
    in the main process: `make check`'s workers (pytest-xdist) share STATIC_ROOT, and one
    collecting while another's WhiteNoise scans it lost files under the scan."""
    if hasattr(session.config, "workerinput"):
        return
    import django
    from django.core.management import call_command

    django.setup()
    call_command("collectstatic", "--noinput", verbosity=0)
    _compile_translations()


def _compile_translations() -> None:
    """The .mo files are build output (make messages); a plain `pytest` compiles them too, so
    the French pages are never silently English because a .mo was stale or missing."""
    import runpy

    script = REPO / "scripts" / "compilemessages"
    compile_catalogs = runpy.run_path(str(script))["compile_catalogs"]
    compile_catalogs()
    missing = [
        po
        for po in (REPO / "locale").glob("*/LC_MESSAGES/*.po")
        if not po.with_suffix(".mo").exists()
    ]
    if missing:
        pytest.exit(f"No compiled catalog for {missing}: run `make messages`", returncode=1)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2 costs ~0.4 s per user; tests check access rules, not hash strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters live in the cache (LocMem in tests): one test's misses are not the next's."""
    from django.core.cache import cache

    from debates import page_cache, realtime

    # Pages and stages shared per event id: a later test's event may reuse an earlier one's id.
    for clear in (cache.clear, page_cache.clear, realtime._stage_cache.clear):
        clear()
    yield
    for clear in (cache.clear, page_cache.clear, realtime._stage_cache.clear):
        clear()


@pytest.fixture
def organiser(db):
    return get_user_model().objects.create_user("org", password="pw-organiser-1")


@pytest.fixture
def host_user(db):
    return get_user_model().objects.create_user("hostess", password="pw-host-1")


@pytest.fixture
def moderator_user(db):
    return get_user_model().objects.create_user("moddy", password="pw-moderator-1")


@pytest.fixture
def stranger_user(db):
    """Signed in, but nothing to do with the event."""
    return get_user_model().objects.create_user("stranger", password="pw-stranger-1")


def make_event(organiser, **fields) -> Event:
    defaults = {
        "title": "Test debate",
        "motion": "Tests should be written first.",
        "starts_at": timezone.now() + timedelta(hours=1),
    }
    return event_create(organiser=organiser, **(defaults | fields))


@pytest.fixture
def event(organiser, host_user, moderator_user) -> Event:
    event = make_event(organiser)
    Speaker.objects.create(
        event=event,
        name="Hal Host",
        role=SpeakerRole.HOST,
        side=Side.FOR,
        statement="For, because.",
        user=host_user,
    )
    Speaker.objects.create(
        event=event,
        name="Mo Derator",
        role=SpeakerRole.MODERATOR,
        side=Side.AGAINST,
        statement="Against, because.",
        user=moderator_user,
    )
    for i, name in enumerate(["Domain knowledge", "Your career"]):
        Theme.objects.create(event=event, name=name, position=i)
    return event


@pytest.fixture
def other_event(organiser) -> Event:
    return make_event(organiser, title="Another debate")


def make_attendee(event: Event, name: str = "") -> Attendee:
    return Attendee.objects.create(event=event, token=secrets.token_urlsafe(32), display_name=name)


@pytest.fixture
def attendee(event) -> Attendee:
    return make_attendee(event, "Ada")


@pytest.fixture
def host_client(client, host_user, event):
    """A browser signed in as the event's host (the projector and console open for it)."""
    client.force_login(host_user)
    return client


def make_instant_voters(
    poll, n: int, *, network: str = "script0000000000", side: str = Side.FOR
) -> list[Attendee]:
    """n attendees of the poll's event, all from one network, who each voted within a second
    of joining: what a ballot-stuffing script looks like to the door panel. Their join time is
    set from the vote, so the test does not depend on how fast this machine is."""
    from debates.models import Vote
    from debates.services.voting import vote_cast

    people = []
    for _ in range(n):
        attendee = Attendee.objects.create(
            event_id=poll.event_id, token=secrets.token_urlsafe(32), network=network
        )
        vote_cast(poll=poll, attendee=attendee, side=side)
        cast_at = Vote.objects.get(poll=poll, attendee=attendee).cast_at
        attendee.joined_at = cast_at - timedelta(milliseconds=300)
        attendee.save(update_fields=["joined_at"])
        people.append(attendee)
    return people


@pytest.fixture
def smtp(settings):
    """A real SMTP server (aiosmtpd, tests/mail_server.py) the site's mailer sends to; yields
    what it received. Links in the emails are on SITE_URL."""
    with SmtpServer() as server:
        settings.MAILERS = {"default": server.mailer()}
        settings.SITE_URL = "https://debates.example.org"
        yield server.recorder
