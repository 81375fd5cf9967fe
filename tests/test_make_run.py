"""`make run`, as a new user types it: migrates, seeds, prints the URLs, and each one works.

It runs the real Makefile target (in CI the venv it needs already exists: `make test` made it),
on a SQLite file of its own and a free port, twice, since running it again must work too.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from bench.launcher import REPO, free_port
from debates.management.commands.seed_demo import DEMO_PASSWORD

pytestmark = pytest.mark.slow

_NOT_INHERITED = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "HTTPS", "DATABASE_URL", "REDIS_URL"}


def _make_run(sqlite_path: str, port: int) -> tuple[subprocess.Popen, list[str]]:
    env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    env["SQLITE_PATH"] = sqlite_path
    # Its own collected static files: the suite's other worker serves the checkout's meanwhile.
    env["STATIC_ROOT"] = str(Path(sqlite_path).parent / "staticfiles")
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"PORT={port}"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()
    return process, lines


def _wait_until_served(process: subprocess.Popen, lines: list[str], base: str) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert process.poll() is None, "make run stopped:\n" + "".join(lines)
        try:
            if httpx.get(base + "/", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError("make run did not serve the demo in time:\n" + "".join(lines))


def _stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def _printed(lines: list[str], label: str, base: str) -> str:
    for line in lines:
        if line.strip().startswith(label):
            match = re.search(re.escape(base) + r"\S*", line)
            assert match, line
            return match.group(0)
    raise AssertionError(f"make run printed no {label!r}:\n" + "".join(lines))


def _log_in(client: httpx.Client, base: str) -> None:
    form = client.get(base + "/accounts/login/")
    token = client.cookies["csrftoken"]
    assert form.status_code == 200
    answer = client.post(
        base + "/accounts/login/",
        data={"username": "organiser", "password": DEMO_PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": base + "/accounts/login/"},
    )
    assert answer.status_code == 200 and "Your events" in answer.text


def test_make_run_serves_the_demo_and_every_url_it_prints_works_twice(tmp_path):
    sqlite_path = str(tmp_path / "demo.sqlite3")
    for _run in range(2):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        process, lines = _make_run(sqlite_path, port)
        try:
            _wait_until_served(process, lines, base)
            output = "".join(lines)
            assert "Logins (password for all: " + DEMO_PASSWORD in output

            # The projector link shows the code that admits; a phone types it and is in.
            projector = httpx.Client(follow_redirects=True, timeout=20)
            screen = projector.get(_printed(lines, "Projector link", base))
            assert screen.status_code == 200 and "Design sprints, live" in screen.text
            stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', screen.text)[1]
            assert projector.get(base + stylesheet).status_code == 200  # WhiteNoise serves it
            code = re.search(r"data-screen-code>([0-9A-Z]{3}-[0-9A-Z]{3})<", screen.text)[1]
            attendee = httpx.Client(follow_redirects=True, timeout=20)
            form = attendee.get(_printed(lines, "Attendees join at", base))
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)[1]
            joined = attendee.post(
                _printed(lines, "Attendees join at", base),
                data={"code": code, "display_name": "Demo", "csrfmiddlewaretoken": token},
                headers={"Referer": _printed(lines, "Attendees join at", base)},
            )
            assert joined.status_code == 200 and "You are taking part as Demo" in joined.text
            assert attendee.get(_printed(lines, "Public recap", base)).status_code == 200

            # The secret host link opens the console without an account.
            host = httpx.Client(follow_redirects=True, timeout=20)
            console = host.get(_printed(lines, "Host secret link", base))
            assert console.status_code == 200 and "Host console" in console.text

            organiser = httpx.Client(follow_redirects=True, timeout=20)
            _log_in(organiser, base)
            for label in ("Host console", "Organiser summary", "Admin"):
                assert organiser.get(_printed(lines, label, base)).status_code == 200, label

            # Signing up sends the confirmation from the background worker make run started,
            # through the console backend: it shows in this output, and leaves the laptop never.
            reader = httpx.Client(follow_redirects=True, timeout=20)
            token = reader.get(base + "/").cookies["csrftoken"]
            email = f"reader{_run}@example.org"
            data = {"email": email, "consent": "on", "next": "/", "csrfmiddlewaretoken": token}
            signed_up = reader.post(
                base + "/subscribe/", data=data, headers={"Referer": base + "/"}
            )
            assert signed_up.status_code == 200 and "Check your inbox" in signed_up.text
            deadline = time.monotonic() + 60
            while f"To: {email}" not in "".join(lines) and time.monotonic() < deadline:
                time.sleep(0.2)
            output = "".join(lines)
            assert f"To: {email}" in output and f"{base}/subscribe/confirm/" in output
        finally:
            _stop(process)
        # The worker stopped with daphne: no process of this run is left.
        assert (
            subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True).stdout == b""
        ), "".join(lines)
