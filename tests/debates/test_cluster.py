"""Two daphne processes sharing PostgreSQL and Redis: what happens on one reaches the other."""

from __future__ import annotations

import asyncio
import json

import pytest

from bench.launcher import Daphne, django_script, manage
from tests.servers import (
    create_event,
    http_client,
    join,
    open_socket,
    postgres_env,
    screen_code,
    until,
)

pytestmark = [pytest.mark.slow, pytest.mark.services]

GO_TO_BREAKOUTS = """
from debates import live
from events.models import Event, Phase
event = Event.objects.get(pk={event})
event.phase = Phase.BREAKOUTS
event.save(update_fields=["phase"])
live.event_changed(event.pk)   # no event loop here: published to Redis directly
print(json.dumps({{"ok": True}}))
"""


async def scenario(a: Daphne, b: Daphne, setup: dict, env: dict) -> None:
    slug, poll = setup["slug"], setup["poll"]
    ada = await join(a.url, screen_code(setup), "Ada")
    bo = await join(b.url, screen_code(setup), "Bo")
    voter = await open_socket(a, slug, ada)  # Ada's socket is held by A
    watcher = await open_socket(b, slug)  # the projector's by B
    second = await open_socket(b, slug)  # another listener on B
    for ws in (voter, watcher, second):
        await until(ws, lambda m: m["type"] == "you.synced")

    # A vote over A's socket updates the socket B holds.
    await voter.send(json.dumps({"type": "vote.cast", "poll": poll, "side": "for", "ref": "1"}))
    await until(voter, lambda m: m["type"] == "vote.acknowledged")
    seen = await until(watcher, lambda m: m["type"] == "tally.updated" and m["total"] == 1)
    assert seen.get("counts") == {"for": 1, "against": 0, "undecided": 0}, seen

    # A vote over HTTP on B (a sync view, committed in a worker thread) reaches A's socket.
    async with http_client(b.url, bo) as http:
        response = await http.post(
            f"/e/{slug}/polls/{poll}/vote/",
            data={"side": "against"},
            headers={"X-CSRFToken": bo["csrftoken"], "HX-Request": "true"},
        )
        assert response.status_code == 200, response.text
    seen = await until(voter, lambda m: m["type"] == "tally.updated" and m["total"] == 2)
    assert seen["counts"] == {"for": 1, "against": 1, "undecided": 0}

    # A change made outside any server (a management command) reaches both.
    await asyncio.to_thread(django_script, env, GO_TO_BREAKOUTS.format(event=setup["event"]))
    for ws in (voter, watcher):
        changed = await until(
            ws, lambda m: m["type"] == "phase.changed" and m["phase"] == "breakouts"
        )
        assert changed["label"] == "Breakouts"
    for ws in (voter, watcher, second):
        await ws.close()


def test_a_vote_through_one_process_updates_sockets_held_by_the_other(postgres_url, redis_url):
    env = postgres_env(postgres_url, REDIS_URL=redis_url)
    manage(env, "migrate", "--noinput")
    setup = create_event(env)
    with Daphne(env, name="daphne-a") as a, Daphne(env, name="daphne-b") as b:
        asyncio.run(scenario(a, b, setup, env))
        assert a.errors() == [] and b.errors() == []
