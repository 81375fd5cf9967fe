"""The database connections dropped (pg_terminate_backend) while people vote.

Promises: a voter gets an explicit answer, an acknowledgement only for a vote that is in the
database, or a refusal that says the vote was not saved; never a false acknowledgement, never
a crash. Voting recovers by itself: a vote cast again afterwards is saved, and every page shows
the database's tally.
"""

from __future__ import annotations

import asyncio
import random

import psycopg
import pytest

from bench.launcher import Daphne, manage
from debates.services.voting import VOTE_NOT_SAVED
from tests.faults.kit import Person, close_all, crashes, recount, until
from tests.servers import create_event, join, postgres_env, screen_code

pytestmark = [pytest.mark.slow, pytest.mark.services]

PEOPLE = 20
VOTES_EACH = 15
SIDES = ("for", "against", "undecided")
TERMINATE = """
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
"""


def drop_connections(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        return conn.execute(TERMINATE).fetchone()[0]


async def scenario(server: Daphne, env: dict, database_url: str, setup: dict) -> None:
    slug, poll = setup["slug"], setup["poll"]
    people = []
    for i in range(PEOPLE):
        person = Person(
            f"p{i}", await join(server.url, screen_code(setup), f"p{i}", fetch_form=False)
        )
        await person.connect(server, slug)
        people.append(person)
    # Per person, what they were told, in order: ("ok" | "not saved", side).
    told: dict[str, list[tuple[str, str]]] = {p.name: [] for p in people}
    http_told: list[tuple[int, str]] = []
    dropping = True
    dropped = 0

    def note(person: Person, answer: dict | None, side: str) -> None:
        assert answer is not None, f"{person.name}: no answer at all"
        if answer["type"] == "vote.acknowledged":
            told[person.name].append(("ok", side))
        else:
            assert answer["reason"] == str(VOTE_NOT_SAVED), answer  # explicit, and why
            told[person.name].append(("not saved", side))

    async def keep_voting(person: Person, rng: random.Random) -> None:
        side = None
        while dropping and len(told[person.name]) < VOTES_EACH:  # under the rate limit
            side = rng.choice([s for s in SIDES if s != side])
            note(person, await person.vote(poll, side), side)
            await asyncio.sleep(rng.uniform(0.05, 0.2))

    async def keep_voting_over_http(person: Person) -> None:
        while dropping:
            status, text = await person.vote_over_http(server, slug, poll, "for")
            http_told.append((status, text))
            await asyncio.sleep(0.05)

    async def drop() -> None:
        nonlocal dropping, dropped
        await until(lambda: sum(len(t) for t in told.values()) >= PEOPLE, 30, "votes flowing")
        for _ in range(4):
            dropped += await asyncio.to_thread(drop_connections, database_url)
            await asyncio.sleep(0.4)
        await asyncio.sleep(0.5)
        dropping = False

    rng = random.Random(11)
    http_voter = Person(
        "http", await join(server.url, screen_code(setup), "http", fetch_form=False)
    )
    await asyncio.gather(
        drop(),
        keep_voting_over_http(http_voter),
        *(keep_voting(p, random.Random(rng.random())) for p in people),
    )
    assert dropped > 0

    # Never a false acknowledgement: each person's stored vote is the last one they were told
    # was saved, or one they were told was NOT saved after it (its commit may have landed).
    stored = (await asyncio.to_thread(recount, env, poll))["votes"]
    for person in people:
        history = told[person.name]
        last_ok = max((i for i, (outcome, _) in enumerate(history) if outcome == "ok"), default=-1)
        possible = {side for _, side in history[max(last_ok, 0) :]}
        assert stored.get(person.name) in possible, (person.name, stored.get(person.name), history)
    # Over HTTP: saved (200, or 204 when only the page update failed), or refused with the
    # reason; never a crash page.
    assert {status for status, _ in http_told} <= {200, 204, 503}, http_told
    assert all(text == str(VOTE_NOT_SAVED) for status, text in http_told if status == 503)

    # Voting recovers by itself: each person votes once more (trying again when told to).
    final: dict[str, str] = {}

    async def vote_again(person: Person) -> None:
        side = "against"
        for _ in range(40):
            answer = await person.vote(poll, side)
            assert answer is not None
            if answer["type"] == "vote.acknowledged":
                final[person.name] = side
                return
            assert answer["reason"] == str(VOTE_NOT_SAVED)
            await asyncio.sleep(0.5)
        raise AssertionError(f"{person.name}: voting did not recover")

    await asyncio.gather(*(vote_again(p) for p in people))
    result = await asyncio.to_thread(recount, env, poll)
    assert {k: v for k, v in result["votes"].items() if k != "http"} == final
    await until(
        lambda: all((p.shows(poll) or {}).get("counts") == result["counts"] for p in people),
        20,
        "every page shows the database's tally",
    )
    print(
        "db dropped:",
        {o: sum(1 for t in told.values() for x, _ in t if x == o) for o in ("ok", "not saved")},
        "http:",
        {s: sum(1 for x, _ in http_told if x == s) for s in {x for x, _ in http_told}},
    )
    await close_all(people)


def test_a_dropped_database_gives_explicit_errors_never_false_acks_and_recovers(
    postgres_url, redis_url
):
    env = postgres_env(postgres_url, REDIS_URL=redis_url)
    manage(env, "migrate", "--noinput")
    setup = create_event(env)
    with Daphne(env, name="daphne") as server:
        asyncio.run(scenario(server, env, postgres_url, setup))
        assert crashes(server) == []


# ---------------------------------------------------------------- the same, deterministically


@pytest.fixture
def voting(event, attendee, client):
    from debates.models import PollKind
    from debates.selectors import ATTENDEE_SESSION_KEY
    from debates.services import voting as voting_services

    poll = voting_services.poll_open(event=event, kind=PollKind.PRE_VOTE)
    session = client.session
    session[ATTENDEE_SESSION_KEY] = {str(event.pk): attendee.token}
    session.save()
    return client, f"/e/{event.slug}/polls/{poll.pk}/vote/", poll


@pytest.mark.django_db
def test_an_http_vote_the_database_failed_says_it_was_not_saved(voting, monkeypatch):
    from django.db import OperationalError

    from debates.models import Vote
    from debates.services import voting as voting_services

    client, url, _poll = voting

    def gone(**kwargs):
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(voting_services, "vote_cast", gone)
    for htmx in ("true", ""):
        response = client.post(url, {"side": "for"}, HTTP_HX_REQUEST=htmx)
        assert (response.status_code, response.content.decode()) == (503, str(VOTE_NOT_SAVED))
    assert not Vote.objects.exists()


@pytest.mark.django_db
def test_a_kept_vote_whose_page_update_failed_is_not_reported_as_lost(voting, monkeypatch):
    from django.db import InterfaceError

    from debates import selectors
    from debates.models import Vote

    client, url, poll = voting

    def gone(**kwargs):
        raise InterfaceError("connection already closed")

    monkeypatch.setattr(selectors, "poll_snapshot", gone)
    response = client.post(url, {"side": "for"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 204  # no swap: the socket brings the tally
    assert Vote.objects.get(poll=poll).side == "for"
