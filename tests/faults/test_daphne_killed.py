"""A daphne process killed (SIGKILL) while votes arrive, one of two on PostgreSQL and Redis.

Its people do what the page does: a vote left without an answer goes again over HTTP to the
process still up, and the page reconnects there. Promises: every acknowledged vote is kept and
none is counted twice, and every page, moved or not, ends up showing the database's tally.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal

import pytest

from bench.launcher import Daphne, manage
from tests.faults.kit import Person, close_all, crashes, recount, until
from tests.servers import create_event, join, postgres_env, screen_code

pytestmark = [pytest.mark.slow, pytest.mark.services]

PEOPLE = 30
VOTES_EACH = 6
SIDES = ("for", "against", "undecided")


async def scenario(a: Daphne, b: Daphne, env: dict, setup: dict) -> None:
    slug, poll = setup["slug"], setup["poll"]
    people: list[Person] = []
    for i in range(PEOPLE):
        server = (a, b)[i % 2]
        person = Person(
            f"p{i}", await join(server.url, screen_code(setup), f"p{i}", fetch_form=False)
        )
        await person.connect(server, slug)
        people.append(person)
    on_b = [p for p in people if p.server is b]
    acknowledged: dict[str, str] = {}
    fallbacks: list[str] = []
    answered = 0

    async def keep_voting(person: Person, rng: random.Random) -> None:
        nonlocal answered
        side = None
        for _ in range(VOTES_EACH):
            side = rng.choice([s for s in SIDES if s != side])
            answer = await person.vote(poll, side)
            if answer is None:
                # The socket died with the vote in flight: as live.js does, the same vote over
                # HTTP to the process that is up, then the page reconnects there.
                status, text = await person.vote_over_http(a, slug, poll, side)
                assert status == 200, (status, text)
                fallbacks.append(person.name)
                await person.connect(a, slug)
            else:
                assert answer["type"] == "vote.acknowledged", answer
            acknowledged[person.name] = side
            answered += 1
            await asyncio.sleep(rng.uniform(0, 0.15))

    async def kill_b() -> None:
        # Once votes are flowing through both processes.
        await until(lambda: answered >= PEOPLE, 30, "the first votes")
        os.killpg(b.proc.pid, signal.SIGKILL)
        b.proc.wait(timeout=10)

    rng = random.Random(8)
    await asyncio.gather(kill_b(), *(keep_voting(p, random.Random(rng.random())) for p in people))
    assert fallbacks, "no vote was in flight on the killed process"
    for person in people:
        if person.server is b:  # done voting before the kill: the page reconnects on its own
            await until(lambda p=person: not p.connected, 20, "the page notices B is gone")
            await person.connect(a, slug)
    assert all(p.server is a and p.connected for p in people)
    assert all(1011 not in p.closes for p in people)
    assert {1006} >= {c for p in on_b for c in p.closes}  # only the abrupt end of B

    final = await asyncio.to_thread(recount, env, poll)
    assert final["votes"] == acknowledged  # every acknowledged vote kept, as last cast
    assert final["total"] == PEOPLE  # one vote each: none counted twice
    await until(
        lambda: all((p.shows(poll) or {}).get("counts") == final["counts"] for p in people),
        20,
        "every page shows the database's tally",
    )
    await close_all(people)


def test_a_killed_process_loses_no_acknowledged_vote_and_its_pages_recover(postgres_url, redis_url):
    env = postgres_env(postgres_url, REDIS_URL=redis_url)
    manage(env, "migrate", "--noinput")
    setup = create_event(env)
    with Daphne(env, name="daphne-a") as a, Daphne(env, name="daphne-b") as b:
        asyncio.run(scenario(a, b, env, setup))
        assert crashes(a) == []
