"""`python -m bench.run writer`: what the socket vote writer's transaction costs per vote.

In-process, on a SQLite file of its own with the server's settings (WAL, IMMEDIATE): N attendees
of one event with an open poll each vote once (a burst, in batches), then batches of random
attendees change their vote, as the sustained phase of `burst` sends them (one ballot per
attendee per batch, a different side each time, so every ballot is a change that is logged and
counts towards the rate limit). Each batch is one `debates.realtime.votes_write` call, the
function the writer runs in its database thread, timed with this thread's CPU clock
(`time.thread_time`: SQLite's work included, other processes' not), so the figure means the
same on a loaded machine. Last, the tally is checked against a recount.

This isolates the database half of a socket vote (the rules, the upsert, the log, the version)
from the event loop's half (frames, acks, fan-out), which only `burst` measures.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

ATTENDEES = 5000
BATCH = 250  # about what the writer takes at 2,000 votes/s (a commit every ~0.1 s)
BATCHES = 80  # changes: 20,000 ballots, four per attendee (under the rate limit)


def _world(attendees: int) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from debates.models import PollKind, ResultsVisibility
    from debates.services.voting import poll_open
    from events.models import Attendee, Phase
    from events.services import event_create

    organiser = get_user_model().objects.create(username="bench-writer")
    event = event_create(
        organiser=organiser,
        title="Bench writer",
        motion="Writes should be cheap.",
        starts_at=timezone.now(),
        phase=Phase.PRE_VOTE,
    )
    poll = poll_open(event=event, kind=PollKind.PRE_VOTE, results_visibility=ResultsVisibility.LIVE)
    with transaction.atomic():
        Attendee.objects.bulk_create(
            Attendee(event=event, token=f"bench-writer-{i}", display_name=f"W {i}")
            for i in range(attendees)
        )
    ids = list(Attendee.objects.filter(event=event).values_list("pk", flat=True))
    return {"event": event.pk, "poll": poll.pk, "attendees": ids}


def _timed(write: Any, ballots: list) -> tuple[float, float, list]:
    cpu, wall = time.thread_time(), time.perf_counter()
    reasons, _versions = write(ballots)
    return time.thread_time() - cpu, time.perf_counter() - wall, reasons


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered) * 1000, 3),
        "p90": round(ordered[int(0.9 * (len(ordered) - 1))] * 1000, 3),
    }


def run(*, attendees: int, batch: int, batches: int, seed: int) -> dict[str, Any]:
    from debates.models import Vote
    from debates.realtime import votes_write
    from debates.selectors import poll_snapshot
    from debates.services.voting import Ballot

    rng = random.Random(seed)
    world = _world(attendees)
    poll, event, ids = world["poll"], world["event"], world["attendees"]
    sides = ("for", "against", "undecided")
    current: dict[int, str] = {}

    def ballot(attendee_id: int) -> Ballot:
        side = rng.choice([s for s in sides if s != current.get(attendee_id)])
        current[attendee_id] = side
        return Ballot(poll_id=poll, attendee_id=attendee_id, event_id=event, side=side)

    refused = 0
    first: list[tuple[float, float, int]] = []
    order = ids[:]
    rng.shuffle(order)
    for start in range(0, len(order), batch):
        ballots = [ballot(a) for a in order[start : start + batch]]
        cpu, wall, reasons = _timed(votes_write, ballots)
        refused += sum(r is not None for r in reasons)
        first.append((cpu, wall, len(ballots)))
    changes: list[tuple[float, float, int]] = []
    for _ in range(batches):
        ballots = [ballot(a) for a in rng.sample(ids, min(batch, len(ids)))]
        cpu, wall, reasons = _timed(votes_write, ballots)
        refused += sum(r is not None for r in reasons)
        changes.append((cpu, wall, len(ballots)))
    snapshot = poll_snapshot(poll_id=poll)
    recount = {s: Vote.objects.filter(poll_id=poll, side=s).count() for s in sides}
    expected = {s: sum(1 for v in current.values() if v == s) for s in sides}

    def phase(rows: list[tuple[float, float, int]]) -> dict[str, Any]:
        votes = sum(n for _, _, n in rows)
        return {
            "batches": len(rows),
            "votes": votes,
            "cpu_us_per_vote": round(sum(c for c, _, _ in rows) / votes * 1e6, 1),
            "wall_us_per_vote": round(sum(w for _, w, _ in rows) / votes * 1e6, 1),
            "cpu_ms_per_batch": _ms([c for c, _, _ in rows]),
        }

    return {
        "attendees": attendees,
        "batch": batch,
        "first_votes": phase(first),
        "changes": phase(changes),
        "refused": refused,
        "tally": snapshot.counts if snapshot else None,
        "recount": recount,
        "tally_equals_recount": snapshot is not None
        and snapshot.counts == recount
        and recount == expected,
    }


def scenario(args: argparse.Namespace) -> dict[str, Any]:
    """The whole run, in this process, on a fresh SQLite file (the server's own settings)."""
    from bench.launcher import server_env

    workdir = Path(tempfile.mkdtemp(prefix="pb-writer-"))
    os.environ.update(server_env(SQLITE_PATH=str(workdir / "db.sqlite3")))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    result = run(
        attendees=args.attendees or ATTENDEES,
        batch=args.batch or BATCH,
        batches=args.batches or BATCHES,
        seed=args.seed or 14,
    )
    result["ok"] = result["refused"] == 0 and result["tally_equals_recount"]
    return {"mode": "in-process", "writer": result}
