"""`python -m bench.run fuzz [--frames N]`: the socket consumer fed generated hostile frames
(bench.fuzz_frames makes them and says what each must get back).

Bad JSON, wrong types, huge numbers, deep nesting, lone surrogates, other events' ids, binary
and oversized frames, and well-formed votes and host commands with hostile data, from an
attendee, a host and a viewer. What must hold: every frame gets the answer the protocol promises
(a reply, or close code 4400/4403), never a crash (daphne's 1011), every text the server sends
can be put on the wire (UTF-8); after a warm-up the Python memory still held (tracemalloc) does
not grow with the frames, and the live registry and the vote writer hold nothing once the
sockets are gone.

Driven in-process through the whole ASGI stack (origin check, session, auth, routing) with
channels' WebsocketCommunicator; a connection is reused until a frame closes it, and frames that
get a reply go in bursts, as a busy client's would. The per-socket frame budget
(debates.live.budget) is lifted: in-process a burst of 24 frames takes a millisecond, so it
would close sockets at moments the generator cannot predict (tests/debates/test_flood.py shows
the budget itself).

The bench runs the full 10,500 frames on a SQLite file of its own; make test runs the same
properties on fewer frames (tests/security/test_fuzz_consumers.py).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import tempfile
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

from bench.fuzz_frames import (
    ANSWER,
    ANSWER_OR_BAD,
    CLOSE_BAD,
    KINDS,
    SEED,
    Frame,
    generator_for,
    show,
)

FRAMES = 10_500
WARM_UP = 2_000
BURST = 24
# Bytes still held after the warm-up, per frame sent after it: 3 MB over 8,500 frames.
HELD_PER_FRAME_LIMIT = 3 * 1024 * 1024 / (FRAMES - WARM_UP)
# Each kind of outcome must be common, or the run did not exercise it: shares of all frames.
CLOSED_SHARE = 0.095
ANSWERED_SHARE = 0.47
# Unhandled errors after which a run stops: one is already a failure.
MAX_FAILURES = 20


# ---------------------------------------------------------------- driving the consumer


class Failure(AssertionError):
    """A frame did not get what the protocol promises (an unhandled error is daphne's 1011)."""

    def __init__(self, message: str, *, unhandled: bool = False) -> None:
        super().__init__(message)
        self.unhandled = unhandled


REPLIES = {
    "pong",
    "vote.acknowledged",
    "vote.refused",
    "vote.replaced",
    "command.done",
    "command.refused",
    "room.synced",
}


class Client:
    """One identity's socket, reopened whenever a frame closed it."""

    def __init__(self, application: Any, slug: str, session_key: str | None) -> None:
        self.application = application
        self.slug = slug
        self.session_key = session_key
        self.socket: Any = None
        self.opened = 0

    async def open(self) -> Any:
        from channels.testing import WebsocketCommunicator

        if self.socket is None:
            headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
            if self.session_key:
                headers.append((b"cookie", f"sessionid={self.session_key}".encode()))
            socket = WebsocketCommunicator(self.application, f"/ws/e/{self.slug}/", headers=headers)
            connected, _ = await socket.connect(timeout=10)
            if not connected:
                raise Failure(f"the {self.slug} socket did not open")
            self.socket = socket
            self.opened += 1
        return self.socket

    async def closed(self) -> None:
        socket, self.socket = self.socket, None
        if socket is not None:
            # A crashed consumer has nothing left to close.
            with contextlib.suppress(Exception):
                await socket.disconnect()

    async def output(self, frames: list[Frame]) -> dict[str, Any]:
        try:
            output = await self.socket.receive_output(timeout=10)
        except TimeoutError:
            raise Failure(f"no answer to {[show(f) for f in frames]}") from None
        except Exception as error:  # the consumer crashed: daphne would close with 1011
            raise Failure(
                f"unhandled {error!r} after {[show(f) for f in frames]}", unhandled=True
            ) from error
        if output["type"] == "websocket.send":
            text = output.get("text")
            if text is not None:
                try:
                    text.encode("utf-8")  # what daphne does with every text it sends
                except UnicodeEncodeError as error:
                    raise Failure(
                        f"unsendable text {text[:200]!r} for {[show(f) for f in frames]}",
                        unhandled=True,
                    ) from error
        return output


async def run_burst(client: Client, frames: list[Frame]) -> None:
    """Frames that all get a reply: sent together, then every reply collected."""
    socket = await client.open()
    for frame in frames:
        await socket.send_to(text_data=frame.text)
    refs = {f.ref for f in frames if f.ref}
    counts = {"pong": 0, "room.synced": 0}
    wanted = {"pong": 0, "room.synced": 0}
    for frame in frames:
        if frame.ref is None:
            wanted[frame.reply] += 1
    while refs or counts != wanted:
        output = await client.output(frames)
        if output["type"] == "websocket.close":
            raise Failure(f"closed {output.get('code')} in a burst of {[show(f) for f in frames]}")
        message = json.loads(output["text"])
        if message.get("ref") in refs and message["type"] in {
            "vote.acknowledged",
            "vote.refused",
            "vote.replaced",  # a newer vote of the burst took its place in the writer's queue
            "command.done",
            "command.refused",
        }:
            refs.discard(message["ref"])
        elif message["type"] in counts:
            counts[message["type"]] += 1


async def run_alone(client: Client, frame: Frame) -> int | None:
    """A frame that may close the socket: sent on its own, its outcome checked. The close code,
    or None when it was answered."""
    socket = await client.open()
    if frame.data is not None:
        await socket.send_to(bytes_data=frame.data)
    else:
        await socket.send_input({"type": "websocket.receive", "text": frame.text})
    while True:
        output = await client.output([frame])
        if output["type"] == "websocket.close":
            code = output.get("code")
            allowed = {CLOSE_BAD} if frame.expect == ANSWER_OR_BAD else {frame.expect}
            if code not in allowed:
                raise Failure(f"closed {code} for {show(frame)}")
            await client.closed()
            return code
        message = json.loads(output["text"])
        if frame.expect == ANSWER_OR_BAD and message["type"] == "pong":
            return None
        # Broadcasts may pass by; any reply to this frame instead of the close is wrong.
        if frame.expect not in {ANSWER, ANSWER_OR_BAD} and message["type"] in REPLIES:
            raise Failure(f"answered {message} instead of closing for {show(frame)}")


async def fuzz(
    *,
    slug: str,
    ids: dict[str, list[int]],
    sessions: dict[str, str | None],
    frames: int = FRAMES,
    warm_up: int = WARM_UP,
    seed: int = SEED,
) -> dict[str, Any]:
    """Sends `frames` generated frames; the report of what came back (see `verdict`).

    The caller lifts debates.live.budget.FRAME_BURST (see the module docstring).
    """
    from productbreaks.asgi import application

    clients = {who: Client(application, slug, key) for who, key in sessions.items()}
    generator = generator_for(ids, seed)
    pending: dict[str, list[Frame]] = {who: [] for who in clients}
    closes: Counter[int] = Counter()
    outcomes = {"answered": 0, "closed": 0}
    failures: list[str] = []
    unhandled = 0
    sent = 0
    held_at_warm_up = 0

    async def flush(who: str) -> None:
        batch, pending[who] = pending[who], []
        if batch:
            await run_burst(clients[who], batch)
            outcomes["answered"] += len(batch)

    async def step(who: str, frame: Frame | None) -> None:
        nonlocal unhandled
        try:
            await flush(who)
            if frame is not None:
                code = await run_alone(clients[who], frame)
                if code is None:
                    outcomes["answered"] += 1
                else:
                    outcomes["closed"] += 1
                    closes[code] += 1
        except Failure as failure:
            failures.append(str(failure)[:2000])
            unhandled += failure.unhandled
            await clients[who].closed()

    tracing = False
    try:
        while sent < frames and len(failures) < MAX_FAILURES:
            frame = generator.frame()
            sent += 1
            if frame.expect == ANSWER:
                pending[frame.who].append(frame)
                if len(pending[frame.who]) >= BURST:
                    await step(frame.who, None)
            else:
                await step(frame.who, frame)
            if sent == warm_up:
                for who in clients:
                    await step(who, None)
                gc.collect()
                tracemalloc.start()
                tracing = True
                held_at_warm_up = tracemalloc.get_traced_memory()[0]
        for who in clients:
            await step(who, None)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - held_at_warm_up if tracing else 0
    finally:
        tracemalloc.stop()
        for client in clients.values():
            await client.closed()
    return {
        "frames": sent,
        "after_warm_up": max(0, sent - warm_up),
        "kinds": dict(sorted(generator.kinds.items())),
        "answered": outcomes["answered"],
        "closed": outcomes["closed"],
        "closes_by_code": {str(code): n for code, n in sorted(closes.items())},
        "unhandled_1011": unhandled,
        "failures": failures,
        "memory": {
            "held_after_warm_up_bytes": held,
            "limit_bytes": round(HELD_PER_FRAME_LIMIT * max(0, sent - warm_up)),
        },
        "sockets_opened": sum(c.opened for c in clients.values()),
        "left_behind": _left_behind(),
    }


def _left_behind() -> dict[str, int]:
    """What the live registry and the vote writer still hold once every socket is closed."""
    from debates import live

    return {"registry_sockets": live.stats()["sockets"], "votes_queued": live.votes_queued()}


def verdict(report: dict[str, Any]) -> list[str]:
    """Every property the run must have, as the ones that failed (empty: all held)."""
    problems = []
    frames = report["frames"]
    if report["failures"]:
        problems.append(f"{len(report['failures'])} frames failed: {report['failures'][:3]}")
    if report["unhandled_1011"]:
        problems.append(f"{report['unhandled_1011']} unhandled errors (daphne's 1011)")
    missing = [kind for kind in KINDS if not report["kinds"].get(kind)]
    if missing:
        problems.append(f"no frame of kind {missing}")
    if report["closed"] < CLOSED_SHARE * frames:
        problems.append(f"too few closes: {report['closed']} of {frames}")
    if report["answered"] < ANSWERED_SHARE * frames:
        problems.append(f"too few answers: {report['answered']} of {frames}")
    memory = report["memory"]
    if memory["held_after_warm_up_bytes"] >= memory["limit_bytes"]:
        problems.append(
            f"{memory['held_after_warm_up_bytes'] / 1e6:.2f} MB still held after "
            f"{report['after_warm_up']} frames (limit {memory['limit_bytes'] / 1e6:.2f} MB)"
        )
    if report["left_behind"] != {"registry_sockets": 0, "votes_queued": 0}:
        problems.append(f"left behind: {report['left_behind']}")
    return problems


# ---------------------------------------------------------------- the event under fuzz


def event_ids(*, event: Any, other_event: Any, other_attendee: Any) -> dict[str, list[int]]:
    """This event's ids by kind, and another event's (a poll opened there, its attendee)."""
    from debates.models import BreakoutRoom, BreakoutRound, Point, Poll, PollKind, Takeaway
    from events.models import Attendee

    other_poll = Poll.objects.create(event=other_event, kind=PollKind.PRE_VOTE, state="open")
    Takeaway.objects.create(event=event, title="Keep it civil")
    return {
        "poll": list(Poll.objects.filter(event=event).values_list("pk", flat=True)),
        "point": list(Point.objects.filter(event=event).values_list("pk", flat=True)),
        "room": list(BreakoutRoom.objects.filter(round__event=event).values_list("pk", flat=True)),
        "round": list(BreakoutRound.objects.filter(event=event).values_list("pk", flat=True)),
        "takeaway": list(Takeaway.objects.filter(event=event).values_list("pk", flat=True)),
        "attendee": list(Attendee.objects.filter(event=event).values_list("pk", flat=True)),
        "other": [other_poll.pk, other_attendee.pk],
    }


def sessions_for(*, event: Any, attendee: Any) -> dict[str, str | None]:
    """Saved sessions: the attendee's, a host's who also joined (votes and commands from one
    socket are both in play), and none for a viewer."""
    from django.contrib.sessions.backends.db import SessionStore

    from debates.selectors import ATTENDEE_SESSION_KEY, HOST_SESSION_KEY

    keys = {}
    for who, content in {
        "attendee": {ATTENDEE_SESSION_KEY: {str(event.pk): attendee.token}},
        "host": {HOST_SESSION_KEY: {str(event.pk): event.host_key}, ATTENDEE_SESSION_KEY: {}},
    }.items():
        session = SessionStore()
        session.update(content)
        session.create()
        keys[who] = session.session_key
    return keys | {"viewer": None}


def _world() -> dict[str, Any]:
    """The bench's event, as tests/security's `world`: mid-breakout, an open pre-vote with one
    vote, a room with a point, and another event with its own attendee."""
    import secrets
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from debates.models import PollKind
    from debates.services import points, rounds, voting
    from events.models import Attendee, Side, Theme
    from events.services import event_create

    organiser = get_user_model().objects.create_user("fuzz-organiser")
    starts = timezone.now() + timedelta(hours=1)
    event = event_create(organiser=organiser, title="Fuzz", motion="Fuzz.", starts_at=starts)
    other = event_create(organiser=organiser, title="Other", motion="Other.", starts_at=starts)
    for i, name in enumerate(["Domain knowledge", "Your career"]):
        Theme.objects.create(event=event, name=name, position=i)
    attendee, other_attendee = (
        Attendee.objects.create(event=e, token=secrets.token_urlsafe(32), display_name=n)
        for e, n in ((event, "Ada"), (other, "Otto"))
    )
    poll = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    voting.vote_cast(poll=poll, attendee=attendee, side=Side.FOR)
    round_ = rounds.round_start(event=event, rooms=1, minutes=15, names=["Oak"])
    points.point_add(
        room=round_.rooms.get(),
        attendee=attendee,
        theme=event.themes.first(),
        side=Side.FOR,
        text="First point",
    )
    return {
        "slug": event.slug,
        "ids": event_ids(event=event, other_event=other, other_attendee=other_attendee),
        "sessions": sessions_for(event=event, attendee=attendee),
    }


def scenario(args: argparse.Namespace) -> dict[str, Any]:
    """The full run, in this process, on a fresh SQLite file (the server's own settings)."""
    import asyncio

    from bench.launcher import server_env

    workdir = Path(tempfile.mkdtemp(prefix="pb-fuzz-"))
    # The communicator's requests come from http://testserver, as Django's test client's do.
    env = server_env(SQLITE_PATH=str(workdir / "db.sqlite3"), ALLOWED_HOSTS="testserver")
    os.environ.update(env)
    import django

    django.setup()
    from asgiref.sync import sync_to_async
    from django.core.management import call_command

    from debates.live import budget as frame_budget

    call_command("migrate", "--noinput", verbosity=0)
    frames = args.frames or FRAMES
    warm_up = min(WARM_UP, frames // 5)
    frame_budget.FRAME_BURST = frames  # see the module docstring

    async def run() -> dict[str, Any]:
        world = await sync_to_async(_world)()
        return await fuzz(
            slug=world["slug"],
            ids=world["ids"],
            sessions=world["sessions"],
            frames=frames,
            warm_up=warm_up,
            seed=args.seed or SEED,
        )

    report = asyncio.run(run())
    problems = verdict(report)
    return {"mode": "in-process", "fuzz": report, "problems": problems, "ok": not problems}
