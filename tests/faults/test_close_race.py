"""A poll closed while 500 votes race it: 500 people on two daphne processes (PostgreSQL and
Redis), the host closing through one of them while votes pour in through both.

Promises: every acknowledged vote is in the frozen tally and every refused one is not; votes
after the close are refused as such; closing twice gives the same result; every page ends up
showing the frozen tally.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from bench.launcher import Daphne, manage
from debates.services.voting import VOTE_POLL_CLOSED
from tests.faults.kit import (
    Person,
    close_all,
    crashes,
    host_cookies,
    host_post,
    people_with_sessions,
    recount,
    until,
)
from tests.servers import create_event, postgres_env

pytestmark = [pytest.mark.slow, pytest.mark.services]

PEOPLE = 500
BEFORE, RACING = 150, 250  # the rest vote after the close has answered
SIDES = ("for", "against", "undecided")


async def scenario(a: Daphne, b: Daphne, env: dict, setup: dict) -> None:
    slug, poll = setup["slug"], setup["poll"]
    cookies = await asyncio.to_thread(people_with_sessions, env, setup["event"], PEOPLE)
    people = [Person(name, c) for name, c in cookies]
    for start in range(0, PEOPLE, 50):  # a room arriving, fifty at a time
        await asyncio.gather(
            *(
                p.connect((a, b)[i % 2], slug)
                for i, p in enumerate(people[start : start + 50], start)
            )
        )
    await until(lambda: all(p.shows(poll) for p in people), 30, "every page has the tally")
    host = await host_cookies(b, slug, setup["host_key"])
    side = {p.name: SIDES[i % 3] for i, p in enumerate(people)}
    answers: dict[str, dict | None] = {}

    async def vote(person: Person) -> None:
        answers[person.name] = await person.vote(poll, side[person.name], timeout=60)

    async def close(server: Daphne) -> None:
        response = await host_post(server, host, f"/e/{slug}/console/polls/{poll}/close/")
        assert response.status_code == 200, response.text

    first, racing, late = (
        people[:BEFORE],
        people[BEFORE : BEFORE + RACING],
        people[BEFORE + RACING :],
    )
    await asyncio.gather(*(vote(p) for p in first))
    await asyncio.gather(close(b), *(vote(p) for p in racing))
    frozen = await asyncio.to_thread(recount, env, poll)
    await asyncio.gather(*(vote(p) for p in late))
    await close(a)  # closing again, through the other process
    again = await asyncio.to_thread(recount, env, poll)

    assert all(answers[p.name] is not None for p in people), "a vote got no answer"
    acknowledged = {n: side[n] for n, m in answers.items() if m["type"] == "vote.acknowledged"}
    refused = {n: m["reason"] for n, m in answers.items() if m["type"] == "vote.refused"}
    assert set(refused.values()) <= {str(VOTE_POLL_CLOSED)}
    assert all(p.name in acknowledged for p in first)
    assert all(p.name in refused for p in late)
    print(
        f"close race: {len(acknowledged)} acknowledged, {len(refused)} refused "
        f"({sum(p.name in refused for p in racing)} of the {RACING} racing the close)"
    )

    assert frozen["state"] == "closed"
    assert frozen["votes"] == acknowledged  # every acknowledged vote in, no refused one
    assert frozen["counts"] == {s: Counter(acknowledged.values())[s] for s in SIDES}
    assert again == frozen  # closing twice: the same result, not even a new version
    await until(
        lambda: all(
            (p.shows(poll) or {}).get("state") == "closed"
            and p.shows(poll).get("counts") == frozen["counts"]
            for p in people
        ),
        30,
        "every page shows the frozen tally",
    )
    await close_all(people)


def test_every_vote_racing_a_close_is_either_in_the_frozen_tally_or_refused(
    postgres_url, redis_url
):
    env = postgres_env(postgres_url, REDIS_URL=redis_url)
    manage(env, "migrate", "--noinput")
    setup = create_event(env)
    with Daphne(env, name="daphne-a") as a, Daphne(env, name="daphne-b") as b:
        asyncio.run(scenario(a, b, env, setup))
        assert crashes(a, b) == []
