"""Security settings: the Content Security Policy is sent and actually holds on every page
(nonced scripts only, no inline style or handler anywhere, htmx without eval), and the
production settings pass `check --deploy` with secure cookies and HSTS."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string

from debates import realtime, selectors
from events.models import Phase
from tests.security.conftest import Page, World, client_for, main_pages, page_status

REPO = Path(__file__).resolve().parents[2]
NONCE = re.compile(r"'nonce-([^']+)'")


def _directives(header: str) -> dict[str, list[str]]:
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


def _is_partial(label: str) -> bool:
    return label.startswith("console panel") or label in {"projector extras", "projector screen"}


def _check_page(label: str, response) -> None:
    header = response["Content-Security-Policy"]
    policy = _directives(header)
    assert "'unsafe-inline'" not in header and "'unsafe-eval'" not in header, label
    assert policy["default-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"], "styles only from our stylesheet"
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    page = Page(response.content.decode())
    scripts = page.scripts()
    # Django names a nonce in the header only when the page used one: a partial has no scripts.
    nonces = NONCE.findall(" ".join(policy["script-src"]))
    assert policy["script-src"][0] == "'self'" and len(nonces) == (1 if scripts else 0), label
    if not _is_partial(label):
        assert scripts, f"{label}: no scripts at all (htmx is on every page)"
    for script in scripts:
        [nonce] = nonces
        assert script.get("nonce") == nonce, (label, script)
        # From our own static files (never a CDN), so the nonce is all an attacker lacks.
        assert (script.get("src") or "").startswith("/" + settings.STATIC_URL.lstrip("/")), script
    assert [tag for tag, attrs in page.elements if "style" in attrs] == [], label
    assert [tag for tag, _ in page.elements if tag == "style"] == [], label
    assert page.handlers() == [], label
    hrefs = [attrs.get("href") or "" for _, attrs in page.elements]
    assert not [h for h in hrefs if h.strip().lower().startswith("javascript:")], label


@pytest.mark.django_db
@pytest.mark.parametrize("phase", [Phase.BREAKOUTS, Phase.PLENARY, Phase.ENDED])
def test_every_page_holds_to_the_policy(world: World, phase):
    world.event.phase = phase
    world.event.recap_published = phase == Phase.ENDED
    world.event.save()
    nonces = []
    for label, role, url in main_pages(world):
        response = client_for(role, world).get(url)
        assert response.status_code == page_status(label, world), label
        _check_page(label, response)
        nonces += NONCE.findall(response["Content-Security-Policy"])
    assert len(nonces) == len([p for p in main_pages(world) if not _is_partial(p[0])])
    assert len(set(nonces)) == len(nonces), "a nonce is never reused"


@pytest.mark.django_db
def test_error_pages_hold_to_the_policy_too(world: World):
    for role, url in (
        ("anonymous", "/no-such-page/"),
        ("attendee", f"/e/{world.event.slug}/console/"),
    ):
        response = client_for(role, world).get(url)
        assert response.status_code in {403, 404}
        assert "'unsafe-inline'" not in response["Content-Security-Policy"]
        page = Page(response.content.decode())
        assert [tag for tag, attrs in page.elements if "style" in attrs] == []
        assert page.handlers() == []


@pytest.mark.django_db
def test_the_stage_pushed_over_the_socket_has_no_inline_style_or_handler(world: World):
    html = render_to_string(
        "debates/event.html#stage",
        {
            "event": world.event,
            "polls": selectors.poll_snapshots(event_id=world.event.pk),
            "my_votes": {},
        },
    )
    assert html == realtime.stage_html(
        world.event, selectors.poll_snapshots(event_id=world.event.pk)
    )
    page = Page(html)
    assert page.elements and [t for t, a in page.elements if "style" in a] == []
    assert page.handlers() == [] and page.scripts() == []


@pytest.mark.django_db
def test_htmx_is_configured_for_the_policy(world: World):
    page = Page(client_for("anonymous", world).get("/").content.decode())
    [config] = [
        a["content"] for t, a in page.elements if t == "meta" and a.get("name") == "htmx-config"
    ]
    config = json.loads(config)
    assert config["allowEval"] is False
    assert config["includeIndicatorStyles"] is False
    assert "style" not in config["attributesToSettle"]


def test_our_scripts_need_no_eval_and_write_no_style_attributes():
    for path in sorted((REPO / "static" / "js").glob("*.js")):
        source = path.read_text()
        for forbidden in (
            "eval(",
            "new Function",
            'setAttribute("style"',
            "cssText",
            "style=",
            "on" + "click=",
        ):
            assert forbidden not in source, (path.name, forbidden)


# ---------------------------------------------------------------- production settings


def _production_env(**extra: str) -> dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "productbreaks.settings",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "debates.example.org,testserver",
        "SQLITE_PATH": "/tmp/pb-security-unused.sqlite3",
    }
    return env | extra


def _run(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )


def test_check_deploy_is_clean_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


PRODUCTION_PROBE = """
import json, django
django.setup()
from django.conf import settings as s
from django.test import Client
response = Client().get("/no-such-page/", secure=True)
plain = Client().get("/no-such-page/")
print(json.dumps({
    "debug": s.DEBUG,
    "session_secure": s.SESSION_COOKIE_SECURE, "csrf_secure": s.CSRF_COOKIE_SECURE,
    "session_httponly": s.SESSION_COOKIE_HTTPONLY, "samesite": s.SESSION_COOKIE_SAMESITE,
    "hsts": response.headers.get("Strict-Transport-Security", ""),
    "redirect": [plain.status_code, plain.headers.get("Location", "")],
    "nosniff": response.headers.get("X-Content-Type-Options"),
    "frame": response.headers.get("X-Frame-Options"),
    "referrer": response.headers.get("Referrer-Policy"),
}))
"""


def test_production_settings_make_cookies_secure_and_send_hsts():
    result = _run(PRODUCTION_PROBE, _production_env())
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["debug"] is False
    assert probe["session_secure"] and probe["csrf_secure"] and probe["session_httponly"]
    assert probe["samesite"] == "Lax"
    assert "max-age=31536000" in probe["hsts"] and "includeSubDomains" in probe["hsts"]
    assert probe["redirect"] == [301, "https://testserver/no-such-page/"]
    assert (probe["nosniff"], probe["frame"], probe["referrer"]) == (
        "nosniff",
        "DENY",
        "same-origin",
    )


def test_production_refuses_to_start_without_a_secret_or_with_any_host():
    no_secret = _production_env()
    del no_secret["SECRET_KEY"]
    assert "SECRET_KEY" in _run("import django; django.setup()", no_secret).stderr
    wildcard = _run("import django; django.setup()", _production_env(ALLOWED_HOSTS="*"))
    assert wildcard.returncode != 0 and "ALLOWED_HOSTS" in wildcard.stderr
