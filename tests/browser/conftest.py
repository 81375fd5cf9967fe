"""Real-browser fixtures: one daphne server on a fresh SQLite file, one headless Debian Chromium.

Each person is a browser context of their own (own cookies, own socket), all in one browser
process, so a whole event with a host, a projector and six attendees stays cheap on 2 cores.

    event = site.event()                          # a fresh event in the lobby (see SETUP_EVENT)
    page = people.open("Ada", path="/join/")      # a new context and page, closed at teardown
    people.problems()                             # console errors (CSP refusals) and page errors

tests/browser/kit.py has the checks: axe_violations, screenshots, mark_loaded/still_loaded.

The browser is Debian's /usr/bin/chromium (`make browser` installs it); Playwright never
downloads one. Without it the tests skip, unless REQUIRE_SERVICES=1 (CI), where they fail.
axe-core comes from node_modules/ (package-lock.json; `make node_modules` runs npm ci).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bench.launcher import REPO, Daphne, django_script, manage
from tests.browser.kit import DESKTOP, PHONE
from tests.servers import sqlite_env

CHROMIUM = Path("/usr/bin/chromium")
AXE_PATH = REPO / "node_modules" / "axe-core" / "axe.min.js"
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"

# This machine's network is closed: without these Chromium keeps dialling out (and waiting).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
TIMEOUT_MS = 15_000

HOST_PASSWORD = "host-pass-7f3a9c"
ORGANISER_PASSWORD = "organiser-pass-2b8e1d"

SETUP_EVENT = """
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from events.models import Side, Speaker, SpeakerRole, Theme
from events.services import event_create

User = get_user_model()
organiser = User.objects.create_user("organiser-{n}", password={organiser_password!r})
host = User.objects.create_user("host-{n}", password={host_password!r}, first_name="Priya")
event = event_create(
    organiser=organiser,
    title="Browser debate {n}",
    motion="Pair programming beats code review.",
    starts_at=timezone.now() + timedelta(minutes=5),
)
Speaker.objects.create(
    event=event, name="Priya Raman", role=SpeakerRole.HOST, side=Side.FOR, user=host,
    statement="Two people at one keyboard catch the mistake before it is written.",
)
Speaker.objects.create(
    event=event, name="Tomasz Nowak", role=SpeakerRole.MODERATOR, side=Side.AGAINST,
    statement="Review after the fact scales to a team; a pair does not.",
)
for i, name in enumerate(["Speed", "Quality"]):
    Theme.objects.create(event=event, name=name, position=i)
from events.admission import projector_key
print(json.dumps({{
    "slug": event.slug, "code": event.join_code, "title": event.title, "motion": event.motion,
    "projector": f"/e/{{event.slug}}/projector-link/{{projector_key(event)}}/",
    "host_key": event.host_key,
    "host": {{"username": host.username, "password": {host_password!r}}},
    "organiser": {{"username": organiser.username, "password": {organiser_password!r}}},
}}))
"""


def _unavailable(message: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} and REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(reason=message)


# ---------------------------------------------------------------- server


@dataclass
class LiveServer:
    daphne: Daphne
    env: dict[str, str]
    events: int = 0

    @property
    def url(self) -> str:
        return self.daphne.url

    def event(self) -> dict[str, Any]:
        """A fresh event in the lobby: organiser, host (with a password), two speakers, themes."""
        self.events += 1
        return django_script(
            self.env,
            SETUP_EVENT.format(
                n=self.events,
                host_password=HOST_PASSWORD,
                organiser_password=ORGANISER_PASSWORD,
            ),
        )

    def script(self, code: str) -> Any:
        """Django code run on the server's database; returns the JSON it prints last."""
        return django_script(self.env, code)

    def errors(self) -> list[str]:
        return self.daphne.errors()


@pytest.fixture(scope="package")
def site(tmp_path_factory) -> Iterator[LiveServer]:
    """daphne (not Django's test client) on a fresh, migrated SQLite file."""
    database = tmp_path_factory.mktemp("browser-db") / "db.sqlite3"
    env = sqlite_env(database)
    manage(env, "migrate", "--noinput")
    with Daphne(env, name="browser-daphne") as daphne:
        yield LiveServer(daphne=daphne, env=env)


# ---------------------------------------------------------------- browser


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (make browser installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="package")
def axe_source() -> str:
    if not AXE_PATH.exists():
        pytest.fail(f"{AXE_PATH} is missing: run `make node_modules` (npm ci)", pytrace=False)
    return AXE_PATH.read_text()


@dataclass
class Person:
    name: str
    context: Any
    page: Any
    problems: list[str] = field(default_factory=list)

    def console(self, kind: str, text: str) -> None:
        # Failed loads are reported with their address by response() instead.
        if kind == "error" and not text.startswith("Failed to load resource"):
            self.problems.append(f"console {kind}: {text}")

    def response(self, method: str, url: str, status: int) -> None:
        # A refused form (a wrong join code, an empty point) answers 400 with the form and its
        # message, by design; tests check the message itself.
        if status >= 400 and not (status == 400 and method == "POST"):
            self.problems.append(f"{status} for {method} {url}")


class People:
    """Browser contexts, one per person, each collecting the page errors it sees."""

    def __init__(self, browser: Any, server: LiveServer) -> None:
        self.browser = browser
        self.server = server
        self.people: list[Person] = []

    def open(self, name: str, *, phone: bool = True, path: str = "", **options: Any) -> Any:
        context = self.browser.new_context(
            base_url=self.server.url,
            viewport=PHONE if phone else DESKTOP,
            is_mobile=phone,
            has_touch=phone,
            **options,
        )
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        person = Person(name=name, context=context, page=page)
        # A CSP refusal or a script error is a console error: the page looks fine but is not.
        page.on("console", lambda message: person.console(message.type, message.text))
        page.on(
            "response",
            lambda r: person.response(r.request.method, r.url, r.status),
        )
        page.on("pageerror", lambda error: person.problems.append(f"page error: {error}"))
        self.people.append(person)
        if path:
            page.goto(path)
        return page

    def problems(self) -> dict[str, list[str]]:
        return {p.name: p.problems for p in self.people if p.problems}

    def close(self) -> None:
        for person in self.people:
            person.context.close()


@pytest.fixture
def people(browser, site) -> Iterator[People]:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    crowd = People(browser, site)
    yield crowd
    crowd.close()
