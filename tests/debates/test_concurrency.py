"""Nothing lost, nothing counted twice: 200 attendees change their vote 10 times each, from 50
concurrent clients, against a real daphne on SQLite and on PostgreSQL. Most vote over the
socket (the batch writer); every tenth uses the htmx POST. Then the tally is recounted from the
database and compared with each attendee's last vote, and the live push must agree too.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter

import pytest

from bench.launcher import Daphne, django_script, manage
from tests.servers import (
    create_event,
    http_client,
    join,
    open_socket,
    postgres_env,
    screen_code,
    sqlite_env,
    until,
)

pytestmark = pytest.mark.slow

ATTENDEES = 200
CHANGES = 10
CLIENTS = 50
SIDES = ("for", "against", "undecided")

RECOUNT = """
from debates.models import Poll, Vote, VoteLog
from events.models import Attendee
poll = Poll.objects.get(pk={poll})
votes = dict(Vote.objects.filter(poll=poll).values_list("attendee__display_name", "side"))
rows = Vote.objects.filter(poll=poll).count()
print(json.dumps({{"votes": votes, "rows": rows, "log": VoteLog.objects.filter(poll=poll).count(),
                   "attendees": Attendee.objects.filter(event=poll.event).count(),
                   "version": poll.version}}))
"""


async def attendee_session(server: Daphne, setup: dict, name: str, rng: random.Random) -> str:
    """One attendee: joins, then changes their vote CHANGES times; returns the last side sent."""
    cookies = await join(server.url, screen_code(setup).lower(), name, fetch_form=False)
    sides = [rng.choice(SIDES) for _ in range(CHANGES)]
    if int(name.removeprefix("a")) % 10 == 0:
        # The htmx path: one POST at a time, each answered after commit.
        async with http_client(server.url, cookies) as http:
            for side in sides:
                response = await http.post(
                    f"/e/{setup['slug']}/polls/{setup['poll']}/vote/",
                    data={"side": side},
                    headers={"X-CSRFToken": cookies["csrftoken"], "HX-Request": "true"},
                )
                assert response.status_code == 200, response.text
        return sides[-1]
    ws = await open_socket(server, setup["slug"], cookies)
    try:
        synced = await until(ws, lambda m: m["type"] == "you.synced")
        assert synced["attendee"] is True
        # Pipelined, as fast as a client can: the writer must keep their order.
        for i, side in enumerate(sides):
            await ws.send(
                json.dumps(
                    {"type": "vote.cast", "poll": setup["poll"], "side": side, "ref": str(i)}
                )
            )
        # Every vote is answered: acknowledged, or replaced by a newer one before it was written
        # (the writer queues one per attendee and poll); the last one is never replaced.
        answers = {}
        while len(answers) < CHANGES:
            message = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if message["type"] in {"vote.acknowledged", "vote.refused", "vote.replaced"}:
                answers[message["ref"]] = message
        refused = [m for m in answers.values() if m["type"] == "vote.refused"]
        assert not refused, refused
        assert answers[str(CHANGES - 1)]["type"] == "vote.acknowledged"
        acknowledged = [i for i in range(CHANGES) if answers[str(i)]["type"] == "vote.acknowledged"]
        assert [answers[str(i)]["side"] for i in acknowledged] == [sides[i] for i in acknowledged]
    finally:
        await ws.close()
    return sides[-1]


async def crowd(server: Daphne, setup: dict) -> tuple[dict[str, str], dict]:
    rng = random.Random(20)
    names = [f"a{i}" for i in range(ATTENDEES)]
    gate = asyncio.Semaphore(CLIENTS)
    viewer = await open_socket(server, setup["slug"])  # the projector, watching throughout

    async def one(name: str) -> tuple[str, str]:
        async with gate:
            return name, await attendee_session(server, setup, name, random.Random(rng.random()))

    expected = dict(await asyncio.gather(*(one(n) for n in names)))
    want = Counter(expected.values())
    want_counts = {side: want.get(side, 0) for side in SIDES}
    # The live push converges on the database's tally.
    pushed = await until(
        viewer,
        lambda m: m["type"] == "tally.updated" and m.get("counts") == want_counts,
        timeout=30,
    )
    await viewer.close()
    return expected, pushed


def run_crowd(env: dict[str, str]) -> None:
    manage(env, "migrate", "--noinput")
    setup = create_event(env)
    with Daphne(env) as server:
        expected, pushed = asyncio.run(crowd(server, setup))
        errors = server.errors()
    recount = django_script(env, RECOUNT.format(poll=setup["poll"]))
    assert recount["attendees"] == ATTENDEES  # every join made exactly one attendee
    assert recount["rows"] == ATTENDEES  # one vote row per attendee, none twice
    assert recount["votes"] == expected  # each attendee's last vote, nothing lost
    assert pushed["total"] == ATTENDEES
    assert pushed["version"] <= recount["version"]
    assert errors == []


def test_no_vote_is_lost_or_doubled_on_sqlite(tmp_path):
    run_crowd(sqlite_env(tmp_path / "db.sqlite3"))


@pytest.mark.services
def test_no_vote_is_lost_or_doubled_on_postgresql(postgres_url):
    run_crowd(postgres_env(postgres_url))
