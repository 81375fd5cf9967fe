"""A flood against a real daphne (issue 11): there frames are counted where daphne receives them
(debates.live.transport.frames_guard), not in the consumer as in the in-process tests of
test_budget.py.
The flooding socket is closed with 4429 every time it comes back, an innocent voter beside it
is acknowledged every time and counted, and the database, the pushed tally and what the server
tells the flooder all agree. Correctness only; the figures are `python -m bench.run flood`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest
from websockets.exceptions import ConnectionClosed

from bench.launcher import Daphne, django_script, manage
from tests.servers import open_socket, sqlite_env, until

pytestmark = pytest.mark.slow

FRAMES = 20_000  # per connection at most; the server closes it after about 60
ROUNDS = 3  # the flooder reconnects after each close and floods again

SETUP = """
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from debates.services import voting
from debates.models import PollKind
from debates.selectors import ATTENDEE_SESSION_KEY
from events.services import attendee_join, event_create
user = get_user_model().objects.create_user("org")
# "open" admission: the standing join code admits, independent of the screen-code join flow.
event = event_create(organiser=user, title="Flood", motion="Floods are closed.",
                     starts_at=timezone.now(), admission="open")
poll = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
sessions = {}
for name in ("flooder", "innocent"):
    attendee = attendee_join(event=event, display_name=name)
    session = SessionStore()
    session[ATTENDEE_SESSION_KEY] = {str(event.pk): attendee.token}
    session.create()
    sessions[name] = {"sessionid": session.session_key}
print(json.dumps({"slug": event.slug, "poll": poll.pk, "sessions": sessions}))
"""

RECOUNT = """
from debates.models import Poll, Vote
poll = Poll.objects.get(pk={poll})
print(json.dumps({{"votes": dict(Vote.objects.filter(poll=poll).values_list(
    "attendee__display_name", "side")), "version": poll.version}}))
"""


async def flood_once(server: Daphne, setup: dict) -> int | None:
    """Floods one connection until the server closes it; the close code."""
    ws = await open_socket(server, setup["slug"], setup["sessions"]["flooder"])
    frame = json.dumps({"type": "vote.cast", "poll": setup["poll"], "side": "for", "ref": "f"})

    async def drain() -> None:  # the close frame must be read while the flood goes on
        with contextlib.suppress(Exception):
            async for _ in ws:
                pass

    reader = asyncio.create_task(drain())
    with contextlib.suppress(ConnectionClosed):
        for n in range(FRAMES):
            await ws.send(frame)
            if n % 64 == 0:
                await asyncio.sleep(0)
    await asyncio.wait_for(reader, 20)
    return ws.close_code


async def vote_honestly(server: Daphne, setup: dict) -> list[dict]:
    ws = await open_socket(server, setup["slug"], setup["sessions"]["innocent"])
    await until(ws, lambda m: m["type"] == "you.synced")
    answers = []
    for i, side in enumerate(["against", "undecided", "against", "undecided", "against"]):
        await ws.send(
            json.dumps({"type": "vote.cast", "poll": setup["poll"], "side": side} | {"ref": str(i)})
        )
        answers.append(await until(ws, lambda m, i=i: m.get("ref") == str(i)))
        await asyncio.sleep(0.2)  # a person, not a script
    await ws.close()
    return answers


async def scenario(server: Daphne, setup: dict) -> dict:
    viewer = await open_socket(server, setup["slug"])

    async def flood() -> list[int | None]:
        return [await flood_once(server, setup) for _ in range(ROUNDS)]

    codes, answers = await asyncio.gather(flood(), vote_honestly(server, setup))
    # What the server holds for the flooder, as a reconnect tells it.
    ws = await open_socket(server, setup["slug"], setup["sessions"]["flooder"])
    synced = await until(ws, lambda m: m["type"] == "you.synced")
    await ws.close()
    tallies = []

    async def collect() -> None:
        while True:
            message = json.loads(await viewer.recv())
            if message["type"] == "tally.updated":
                tallies.append(message)

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(collect(), 2)  # the last snapshot goes out within 0.25 s
    await viewer.close()
    return {"codes": codes, "answers": answers, "synced": synced, "last_tally": tallies[-1]}


def test_a_flood_on_daphne_is_closed_4429_each_time_and_an_innocent_voter_is_counted(tmp_path):
    env = sqlite_env(tmp_path / "db.sqlite3")
    manage(env, "migrate", "--noinput")
    setup = django_script(env, SETUP)
    with Daphne(env) as server:
        result = asyncio.run(scenario(server, setup))
        errors = server.errors()
    recount = django_script(env, RECOUNT.format(poll=setup["poll"]))

    assert result["codes"] == [4429] * ROUNDS
    assert [a["type"] for a in result["answers"]] == ["vote.acknowledged"] * 5
    assert recount["votes"] == {"flooder": "for", "innocent": "against"}
    assert result["synced"]["votes"] == {str(setup["poll"]): "for"}
    assert result["last_tally"]["version"] == recount["version"]
    assert result["last_tally"]["counts"] == {"for": 1, "against": 1, "undecided": 0}
    assert errors == []
