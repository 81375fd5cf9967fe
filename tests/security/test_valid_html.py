"""Every page a person opens is valid HTML, as the Nu HTML checker (vnu-jar) reads it.

The pages are rendered in several phases of the event, with the forms' error states and the
error pages, written to a temporary folder and checked in one run of the checker (its JVM
takes seconds to start). Partials are wrapped in a minimal document first: htmx swaps them
into a page, so what must be valid is the fragment inside a body.

The checker is node_modules/vnu-jar (package-lock.json; `make node-deps`) on Debian's Java
(`make java`). Without either the test skips, unless REQUIRE_SERVICES=1 (CI), where it fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from debates.services import rehearsal
from events import team
from events.models import Phase, TeamRole
from events.services import unsubscribe_token
from tests.conftest import make_event
from tests.security.conftest import World, client_for, main_pages, page_status

REPO = Path(__file__).resolve().parents[2]
VNU_JAR = REPO / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"

PHASES = [Phase.LOBBY, Phase.PRE_VOTE, Phase.BREAKOUTS, Phase.PLENARY, Phase.ENDED]

FRAGMENT = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{label}</title></head>'
    "<body>{html}</body></html>"
)


def _is_partial(label: str) -> bool:
    return label.startswith("console panel") or label in {"projector extras", "projector screen"}


def _checker() -> list[str]:
    java = shutil.which("java")
    missing = [
        reason
        for reason, absent in (
            ("no java (make java installs default-jre-headless)", java is None),
            (f"no {VNU_JAR.relative_to(REPO)} (make node-deps runs npm ci)", not VNU_JAR.exists()),
        )
        if absent
    ]
    if missing:
        message = "The Nu HTML checker cannot run: " + "; ".join(missing)
        if REQUIRE_SERVICES:
            pytest.fail(message + " and REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip(reason=message)
    return [java, "-jar", str(VNU_JAR), "--errors-only", "--format", "json"]


def _validate(pages: dict[str, str], folder: Path) -> list[str]:
    """The checker's errors, as 'label:line: message [extract]', over all pages in one run."""
    names = {}
    for n, (label, html) in enumerate(pages.items()):
        path = folder / f"{n:03d}-{re.sub(r'[^a-z0-9]+', '-', label.lower())}.html"
        path.write_text(html, encoding="utf-8")
        names[path.name] = label
    result = subprocess.run(
        [*_checker(), *sorted(str(folder / name) for name in names)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    # The JSON report goes to stderr; exit status 1 only means it found errors.
    assert result.returncode in {0, 1} and result.stderr, result.stdout + result.stderr
    report = json.loads(result.stderr)
    return [
        f"{names.get(m.get('url', '').rsplit('/', 1)[-1], m.get('url'))}:{m.get('lastLine')}: "
        f"{m['message']} [{(m.get('extract') or '').strip()}]"
        for m in report["messages"]
    ]


def _page(response, label: str) -> str:
    html = response.content.decode()
    return FRAGMENT.format(label=label, html=html) if _is_partial(label) else html


def _form_errors(world: World) -> dict[str, tuple[int, str]]:
    """Pages showing a refused form: (expected status, HTML)."""
    anonymous = client_for("anonymous", world)
    organiser = client_for("organiser", world)
    posts = {
        "join with a wrong code": (
            anonymous,
            reverse("debates:join"),
            {"code": "ZZZ-ZZZ", "display_name": "Ada"},
        ),
        "login with a wrong password": (
            anonymous,
            reverse("login"),
            {"username": "org", "password": "wrong"},
        ),
        "subscribe without consent": (
            anonymous,
            reverse("events:subscribe"),
            {"email": "not-an-address", "event": world.event.slug, "next": "/"},
        ),
        "new event with nothing filled in": (organiser, reverse("events:event_new"), {}),
    }
    pages = {}
    for label, (client, url, data) in posts.items():
        response = client.post(url, data)
        pages[label] = (response.status_code, response.content.decode())
    return pages


@pytest.mark.django_db
def test_every_page_in_every_phase_is_valid_html(world: World, tmp_path):
    pages: dict[str, str] = {}
    for phase in PHASES:
        world.event.phase = phase
        world.event.recap_published = phase == Phase.ENDED
        world.event.save()
        for label, role, url in main_pages(world):
            response = client_for(role, world).get(url)
            assert response.status_code == page_status(label, world), (phase, label)
            pages[f"{phase} {label}"] = _page(response, label)
        if phase == Phase.ENDED:
            public = client_for("anonymous", world).get(
                reverse("recaps:recap", args=[world.event.slug]) + "?subscribed=1"
            )
            assert public.status_code == 200
            pages["public recap"] = public.content.decode()

    for label, (status, html) in _form_errors(world).items():
        assert status in {200, 400}, label
        pages[label] = html
    slug = world.event.slug
    token = unsubscribe_token("reader@example.org")
    for label, url in (
        ("unsubscribe", reverse("events:unsubscribe", args=[token])),
        ("unsubscribe with a bad link", reverse("events:unsubscribe", args=["nonsense"])),
    ):
        response = client_for("anonymous", world).get(url)
        assert response.status_code in {200, 400}, label
        pages[label] = response.content.decode()

    # The team (issue 17): the organisers' page, and the invitation as a newcomer sees it.
    invitation = team.invitation_send(
        event=world.event, email="new@example.org", role=TeamRole.HOST, invited_by=None
    )
    link = reverse("events:invitation", args=[team.invitation_token(invitation)])
    newcomer = client_for("anonymous", world)
    for label, response, status in (
        ("team", client_for("organiser", world).get(reverse("events:team", args=[slug])), 200),
        ("invitation", newcomer.get(link), 200),
        ("invitation, passwords differ", newcomer.post(link, {"new_password1": "a"}), 400),
        ("invitation, bad link", newcomer.get(link[:-3] + "x/"), 400),
    ):
        assert response.status_code == status, label
        pages[label] = response.content.decode()

    # The error pages: not found, forbidden (an attendee at the console), server error.
    not_found = client_for("anonymous", world).get("/no-such-page/")
    forbidden = client_for("attendee", world).get(f"/e/{world.event.slug}/console/")
    assert (not_found.status_code, forbidden.status_code) == (404, 403)
    pages["404"] = not_found.content.decode()
    pages["403"] = forbidden.content.decode()
    pages["500"] = server_error(RequestFactory().get("/")).content.decode()

    # The console of a draft (offering a rehearsal) and of one being rehearsed (its banner).
    draft = make_event(world.event.organiser, title="Draft")
    console = reverse("debates:console", args=[draft.slug])
    pages["draft console"] = client_for("organiser", world).get(console).content.decode()
    rehearsal.rehearsal_start(event=draft, people=3, minutes=5)
    pages["rehearsing console"] = client_for("organiser", world).get(console).content.decode()

    errors = _validate(pages, tmp_path)
    assert errors == [], "\n".join(errors)


def test_the_checker_finds_invalid_html(tmp_path):
    """The check above can fail: bare hx-* attributes and a stray end tag are errors."""
    invalid = FRAGMENT.format(label="bad", html='<div hx-get="/x/">one</span></div>')
    valid = FRAGMENT.format(label="good", html='<div data-hx-get="/x/">one</div>')
    errors = _validate({"bad": invalid, "good": valid}, tmp_path)
    assert errors and all(error.startswith("bad:") for error in errors)
    assert any("hx-get" in error for error in errors)
