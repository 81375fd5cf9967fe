"""Redis restarted in the middle of voting, under two daphne processes on PostgreSQL.

Promises: no vote is lost; within 10 s of Redis coming back every open page shows the right
tally (the database's); a vote cast 15 s later reaches every page; people can still join while
Redis is away (the join throttle lets them through when its counter is unreachable).
"""

from __future__ import annotations

import asyncio
import time

import pytest

from bench.launcher import Daphne, manage
from tests.faults.kit import (
    Person,
    PrivateRedis,
    close_all,
    crashes,
    recount,
    until,
)
from tests.servers import create_event, join, postgres_env, screen_code

pytestmark = [pytest.mark.slow, pytest.mark.services]

PEOPLE = 24
SIDES = ("for", "against", "undecided")


def shows(people: list[Person], poll: int, counts: dict[str, int]) -> bool:
    return all(
        (p.shows(poll) or {}).get("counts") == counts for p in people if p.connected
    ) and all(p.connected for p in people)


async def scenario(a: Daphne, b: Daphne, redis: PrivateRedis, env: dict, setup: dict) -> None:
    slug, poll = setup["slug"], setup["poll"]
    people = []
    for i in range(PEOPLE):
        server = (a, b)[i % 2]
        cookies = await join(server.url, screen_code(setup), f"p{i}", fetch_form=False)
        person = Person(f"p{i}", cookies)
        await person.connect(server, slug)
        people.append(person)
    acknowledged: dict[str, str] = {}

    async def vote(person: Person, side: str) -> None:
        answer = await person.vote(poll, side)
        assert answer is not None and answer["type"] == "vote.acknowledged", answer
        acknowledged[person.name] = side

    # Before: a third of the room votes, and every page agrees.
    await asyncio.gather(*(vote(p, SIDES[i % 3]) for i, p in enumerate(people[:8])))
    expected = (await asyncio.to_thread(recount, env, poll))["counts"]
    await until(lambda: shows(people, poll, expected), 20, "every page shows the first votes")

    # Redis goes away. Votes still count (the database holds them), each acknowledged.
    await asyncio.to_thread(redis.kill)
    await asyncio.gather(*(vote(p, SIDES[i % 3]) for i, p in enumerate(people[8:16])))
    await asyncio.gather(*(vote(p, "against") for p in people[:4]))  # minds change meanwhile
    # Someone arrives while Redis is down: the join still works.
    late_cookies = await join(a.url, screen_code(setup), "late", fetch_form=False)
    late = Person("late", late_cookies)
    await late.connect(b, slug)
    people.append(late)
    await asyncio.sleep(2)

    # Redis is back (same port, empty, as after a restart).
    await asyncio.to_thread(redis.start)
    restarted = time.monotonic()
    expected = (await asyncio.to_thread(recount, env, poll))["counts"]
    assert sum(expected.values()) == 16
    right = await until(
        lambda: shows(people, poll, expected), 10, "every page shows the right tally after Redis"
    )
    print(f"redis restart: every page right {right - restarted:.1f} s after Redis came back")

    # 15 s after the restart, a vote reaches every page.
    await asyncio.sleep(max(0.0, restarted + 15 - time.monotonic()))
    await vote(late, "for")
    expected = (await asyncio.to_thread(recount, env, poll))["counts"]
    assert sum(expected.values()) == 17
    await until(lambda: shows(people, poll, expected), 10, "the later vote reaches every page")

    # Nothing lost, nothing counted twice: the database holds exactly the acknowledged votes.
    final = await asyncio.to_thread(recount, env, poll)
    assert final["votes"] == acknowledged
    assert [code for p in people for code in p.closes] == []  # no page lost its socket
    await close_all(people)


def test_no_vote_is_lost_and_every_page_recovers_when_redis_restarts(postgres_url):
    with PrivateRedis() as redis:
        env = postgres_env(postgres_url, REDIS_URL=redis.url)
        manage(env, "migrate", "--noinput")
        setup = create_event(env)
        with Daphne(env, name="daphne-a") as a, Daphne(env, name="daphne-b") as b:
            asyncio.run(scenario(a, b, redis, env, setup))
            assert crashes(a, b) == []
