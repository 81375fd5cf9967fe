"""Host rights ending over real daphne: the organiser rotates the host link in the browser, and
a console that came in through the old link is told and hears no more hidden counts; with two
processes (Redis) the rotation made on one reaches a console held by the other, and so does an
account deactivated outside any server. The in-process cases are in test_hosts.py.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from bench.launcher import Daphne, django_script, manage
from tests.servers import (
    http_client,
    join,
    open_socket,
    postgres_env,
    screen_code,
    sqlite_env,
    until,
)

pytestmark = pytest.mark.slow

SETUP = """
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from debates.services import voting
from debates.models import PollKind, ResultsVisibility
from events.models import Side, Speaker, SpeakerRole
from events.services import event_create
User = get_user_model()
organiser = User.objects.create_user("org", password="pw-organiser-1")
hal = User.objects.create_user("hal", password="pw-host-1")
event = event_create(organiser=organiser, title="Rotation", motion="Links expire.",
                     starts_at=timezone.now() + timedelta(hours=1))
Speaker.objects.create(event=event, name="Hal", role=SpeakerRole.HOST, side=Side.FOR, user=hal)
poll = voting.poll_open(event=event, kind=PollKind.PRE_VOTE,
                          results_visibility=ResultsVisibility.AFTER_CLOSE)
print(json.dumps({"slug": event.slug, "code": event.join_code, "poll": poll.pk,
                  "event": event.pk, "host_key": event.host_key}))
"""

HOST_KEY = """
from events.models import Event
print(json.dumps(Event.objects.get(pk={event}).host_key))
"""

DEACTIVATE = """
from django.contrib.auth import get_user_model
user = get_user_model().objects.get(username="hal")
user.is_active = False
user.save()   # no event loop here: the announcement is published to Redis directly
print(json.dumps(True))
"""


async def host_link_cookies(base_url: str, slug: str, key: str) -> dict[str, str]:
    async with http_client(base_url) as client:
        response = await client.get(f"/e/{slug}/host/{key}/")
        assert response.status_code == 302, response.text[:300]
        return dict(client.cookies)


async def login(base_url: str, username: str, password: str) -> dict[str, str]:
    async with http_client(base_url) as client:
        await client.get("/accounts/login/")
        response = await client.post(
            "/accounts/login/",
            data={
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": client.cookies["csrftoken"],
            },
        )
        assert response.status_code == 302, response.text[:300]
        return dict(client.cookies)


async def rotate(base_url: str, slug: str) -> None:
    """The organiser presses "new host link" on the event's edit page."""
    organiser = await login(base_url, "org", "pw-organiser-1")
    async with http_client(base_url, organiser) as client:
        response = await client.post(
            f"/organiser/events/{slug}/host-link/",
            headers={"X-CSRFToken": organiser["csrftoken"], "Origin": base_url},
        )
        assert response.status_code == 302, response.text[:300]


async def host_console(server: Daphne, slug: str, cookies: dict[str, str]):
    socket = await open_socket(server, slug, cookies)
    synced = await until(socket, lambda m: m["type"] == "you.synced")
    assert synced["host"] is True
    return socket


async def vote(server: Daphne, setup: dict, cookies: dict[str, str], side: str) -> None:
    voter = await open_socket(server, setup["slug"], cookies)
    message = {"type": "vote.cast", "poll": setup["poll"], "side": side, "ref": side}
    await voter.send(json.dumps(message))
    await until(voter, lambda m: m["type"] == "vote.acknowledged")
    await voter.close()


def tally_of(total: int):
    return lambda m: m["type"] == "tally.updated" and m["total"] == total


async def rotation(organisers: Daphne, hosts: Daphne, setup: dict, env: dict) -> None:
    """The console is held by `hosts`; the organiser rotates and the attendee votes on
    `organisers` (the same process, or another one)."""
    slug = setup["slug"]
    old = await host_console(
        hosts, slug, await host_link_cookies(hosts.url, slug, setup["host_key"])
    )
    ada = await join(organisers.url, screen_code(setup), "Ada")

    await rotate(organisers.url, slug)

    assert await until(old, lambda m: m["type"] == "host.revoked") == {
        "type": "host.revoked",
        "event": setup["event"],
    }
    await vote(organisers, setup, ada, "for")
    tally = await until(old, tally_of(1))
    assert tally["visible"] is False
    assert "counts" not in tally and "attendees" not in tally

    # The new link works: a console with counts and turnout of the hidden poll.
    new_key = await asyncio.to_thread(django_script, env, HOST_KEY.format(event=setup["event"]))
    assert new_key != setup["host_key"]
    setup["host_key"] = new_key  # the screen's code follows the host key (events.admission)
    fresh_cookies = await host_link_cookies(hosts.url, slug, new_key)
    fresh = await open_socket(hosts, slug, fresh_cookies)
    seen = await until(fresh, tally_of(1))  # on connect, before you.synced
    assert seen["counts"] == {"for": 1, "against": 0, "undecided": 0}
    assert seen["attendees"] == 1
    assert (await until(fresh, lambda m: m["type"] == "you.synced"))["host"] is True
    await vote(organisers, setup, ada, "against")
    changed = await until(old, tally_of(1))
    assert "counts" not in changed, changed  # the changed vote: still no counts
    for socket in (old, fresh):
        await socket.close()


def test_rotating_the_host_link_in_the_browser_cuts_off_the_old_links_console(tmp_path):
    env = sqlite_env(tmp_path / "db.sqlite3")
    manage(env, "migrate", "--noinput")
    setup = django_script(env, SETUP)
    with Daphne(env) as server:
        asyncio.run(rotation(server, server, setup, env))
        assert server.errors() == []


async def deactivation(a: Daphne, b: Daphne, setup: dict, env: dict) -> None:
    """Hal's console on B; Hal deactivated from a script (no server): B demotes it."""
    slug = setup["slug"]
    hal = await host_console(b, slug, await login(b.url, "hal", "pw-host-1"))
    organiser = await host_console(a, slug, await login(a.url, "org", "pw-organiser-1"))
    await asyncio.to_thread(django_script, env, DEACTIVATE)
    assert (await until(hal, lambda m: m["type"] == "host.revoked"))["event"] == setup["event"]
    bo = await join(a.url, screen_code(setup), "Bo")
    await vote(a, setup, bo, "undecided")  # the second voter: Ada voted in rotation()
    assert "counts" not in await until(hal, tally_of(2))
    assert (await until(organiser, tally_of(2)))["counts"]["undecided"] == 1
    for socket in (hal, organiser):
        await socket.close()


@pytest.mark.services
def test_with_two_processes_a_rotation_or_a_deactivation_reaches_the_console_on_the_other(
    postgres_url, redis_url
):
    env = postgres_env(postgres_url, REDIS_URL=redis_url)
    manage(env, "migrate", "--noinput")
    setup = django_script(env, SETUP)
    with Daphne(env, name="daphne-a") as a, Daphne(env, name="daphne-b") as b:
        asyncio.run(rotation(a, b, setup, env))
        asyncio.run(deactivation(a, b, setup, env))
        assert a.errors() == [] and b.errors() == []
