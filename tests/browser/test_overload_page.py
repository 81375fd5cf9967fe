"""Overload in a real browser: a join page answered 503 early (productbreaks/overload.py) says
that it is joining and tries again by itself, the GET by reloading and the join form by sending
itself again (static/js/door.js), and the person ends up joined, once."""

from __future__ import annotations

import pytest

from bench.launcher import Daphne, manage
from tests.browser.conftest import CHROMIUM, SETUP_EVENT, _unavailable
from tests.browser.kit import PHONE
from tests.servers import sqlite_env

pytestmark = pytest.mark.browser

OPEN_THE_DOOR = """
from events.models import Event
Event.objects.filter(slug={slug!r}).update(admission="open")
print(json.dumps(True))
"""
ATTENDEES = """
from events.models import Attendee
print(json.dumps(list(Attendee.objects.filter(event__slug={slug!r}).values_list("display_name", flat=True))))
"""


def test_a_shed_join_page_and_a_shed_join_form_retry_by_themselves_and_join_once(tmp_path, browser):
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing")
    # Every first GET and first POST of the process is answered early, however idle it is.
    env = sqlite_env(tmp_path / "db.sqlite3", OVERLOAD_DRILL_FIRST="1")
    manage(env, "migrate", "--noinput")
    from bench.launcher import django_script

    event = django_script(env, SETUP_EVENT.format(n=1, host_password="h", organiser_password="o"))
    django_script(env, OPEN_THE_DOOR.format(slug=event["slug"]))
    with Daphne(env, name="overload-daphne") as server:
        context = browser.new_context(base_url=server.url, viewport=PHONE, is_mobile=True)
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on(
            "console",
            lambda m: (
                m.type == "error"
                and not m.text.startswith("Failed to load resource")
                and problems.append(m.text)
            ),
        )
        statuses: list[tuple[str, int]] = []
        page.on("response", lambda r: statuses.append((r.request.method, r.status)))

        first = page.goto(f"/j/{event['code']}/")
        assert first.status == 503 and 2 <= int(first.headers["retry-after"]) <= 30
        assert "joining" in page.locator("[data-retry-after]").inner_text().lower()
        # The page reloads by itself into the name form (the meta refresh, no script needed).
        page.get_by_label("Your name").fill("Ada", timeout=40_000)
        page.get_by_role("button", name="Join and vote").click()
        # The form is answered early too; the page says so and sends it again by itself.
        page.locator("[data-retry-after]").wait_for(timeout=15_000)
        page.get_by_text("You are taking part as Ada").wait_for(timeout=40_000)
        context.close()
        assert server.errors() == []
    assert ("GET", 503) in statuses and ("POST", 503) in statuses
    assert ("POST", 302) in statuses  # the resent form joined
    assert problems == []  # no CSP refusal of the retry script, no script error
    assert django_script(env, ATTENDEES.format(slug=event["slug"])) == ["Ada"]
