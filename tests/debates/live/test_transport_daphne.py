"""The socket fast path against a real daphne (debates.live.transport): on a Twisted it knows,
fan-out frames go straight to the socket; on one whose private attribute is gone (simulated by
tests/debates/live/renamed_twisted/sitecustomize.py), the process logs a WARNING at the first
socket, sends every frame through daphne's own send (none is dropped), and the host console's
presence panel says the fast path is off and how many frames took the fallback.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from bench.launcher import Daphne, django_script, manage
from tests.debates.live.test_hosts_servers import SETUP, host_console, login, tally_of, vote
from tests.servers import http_client, join, open_socket, screen_code, sqlite_env, until

pytestmark = pytest.mark.slow

RENAMED_TWISTED = Path(__file__).parent / "renamed_twisted"
WARNING = "live: the socket fast path is off"


async def fan_out_and_read_the_console(server: Daphne, setup: dict) -> tuple[dict, dict, str]:
    """A viewer and the organiser's console watch a vote's tally; then the presence panel."""
    slug = setup["slug"]
    organiser = await login(server.url, "org", "pw-organiser-1")
    viewer = await open_socket(server, slug)
    console = await host_console(server, slug, organiser)
    ada = await join(server.url, screen_code(setup), "Ada")
    await vote(server, setup, ada, "for")
    public = await until(viewer, tally_of(1))
    full = await until(console, tally_of(1))
    for socket in (viewer, console):
        await socket.close()
    async with http_client(server.url, organiser) as client:
        panel = await client.get(f"/e/{slug}/console/panels/presence/")
        assert panel.status_code == 200
    return public, full, panel.text


def start(tmp_path: Path, **extra: str) -> tuple[dict, dict]:
    env = sqlite_env(tmp_path / "db.sqlite3", **extra)
    manage(env, "migrate", "--noinput")
    return env, django_script(env, SETUP)


def test_with_a_renamed_twisted_attribute_frames_go_through_daphne_and_the_console_says_so(
    tmp_path,
):
    env, setup = start(tmp_path, PYTHONPATH=str(RENAMED_TWISTED), PB_TEST_TWISTED_RENAME="1")
    with Daphne(env) as server:
        public, full, panel = asyncio.run(fan_out_and_read_the_console(server, setup))
        log = server.log()
        assert server.errors() == []
    # Frames still delivered: the public tally (no counts, the poll's results are hidden) to
    # the viewer, the full one to the console.
    assert public["visible"] is False and "counts" not in public
    assert full["counts"] == {"for": 1, "against": 0, "undecided": 0}
    # The server log holds the WARNING (the daphne under test logs WARNING and above only).
    assert WARNING in log and "_tempDataBuffer" in log
    assert log.count(WARNING) == 1
    [frames] = re.findall(r'data-fast-path="off">\D*(\d+) frames', panel)
    assert int(frames) >= 2  # at least the two tallies above


def test_on_the_pinned_twisted_the_fast_path_is_on_and_the_console_says_nothing(tmp_path):
    env, setup = start(tmp_path)
    with Daphne(env) as server:
        public, full, panel = asyncio.run(fan_out_and_read_the_console(server, setup))
        log = server.log()
    assert "counts" not in public and full["total"] == 1
    assert WARNING not in log
    assert "data-fast-path" not in panel
