"""`python -m bench.run fuzz [--frames N]`: the socket consumer fed generated hostile frames.

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
(debates.frame_budget) is lifted: in-process a burst of 24 frames takes a millisecond, so it
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
import random
import string
import tempfile
import tracemalloc
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FRAMES = 10_500
WARM_UP = 2_000
BURST = 24
SEED = 20261125
# Bytes still held after the warm-up, per frame sent after it: 3 MB over 8,500 frames.
HELD_PER_FRAME_LIMIT = 3 * 1024 * 1024 / (FRAMES - WARM_UP)
# Each kind of outcome must be common, or the run did not exercise it: shares of all frames.
CLOSED_SHARE = 0.095
ANSWERED_SHARE = 0.47
# Unhandled errors after which a run stops: one is already a failure.
MAX_FAILURES = 20

ANSWER = "answer"  # a JSON reply is due (matched by ref, or by type for ping / room.sync)
ANSWER_OR_BAD = "answer-or-4400"  # deep nesting: parsed (pong) or refused, depending on depth
# The protocol's close codes (debates.live.CLOSE_BAD_MESSAGE and CLOSE_FORBIDDEN), written out:
# the oracle states what the protocol promises rather than reading it from the code under test.
CLOSE_BAD = 4400
CLOSE_FORBIDDEN = 4403
KINDS = (
    "ping",
    "garbage",
    "not_object",
    "binary",
    "oversized",
    "deep",
    "unknown_type",
    "vote_bad_types",
    "vote",
    "command_bad_types",
    "command",
    "room_sync",
)
WEIGHTS = (12, 4, 2, 1, 1, 2, 2, 4, 40, 2, 22, 3)


@dataclass
class Frame:
    who: str  # "attendee", "host" or "viewer"
    text: str | None = None
    data: bytes | None = None
    expect: Any = ANSWER
    ref: str | None = None
    reply: str | None = None  # the reply type when there is no ref (pong, room.synced)
    kind: str = ""


def carries_a_fraction(text: str) -> bool:
    """Whether a JSON text holds a number with a fraction or an exponent, NaN or Infinity.

    Read off the wire text by the JSON parser's own hooks: no command takes a fraction, so the
    protocol closes such a command with 4400, whoever sends it.
    """
    seen: list[str] = []

    def mark(token: str) -> float:
        seen.append(token)
        return 0.0

    json.loads(text, parse_float=mark, parse_constant=mark)
    return bool(seen)


class Generator:
    """Frames with the outcome the protocol (team notes, debates.consumers) promises."""

    def __init__(
        self,
        rng: random.Random,
        ids: dict[str, list[int]],
        *,
        commands: dict[str, list[str]],
        max_frame: int,
        ref_max: int,
    ) -> None:
        self.rng = rng
        self.ids = ids  # this event's and other events' ids, by kind
        self.commands = commands  # each host command's field names
        self.max_frame = max_frame
        self.ref_max = ref_max
        self.n = 0
        self.floats = 0.0  # how often a number is a float (which closes a command: 4400)
        self.kinds: Counter[str] = Counter()

    # ------------------------------------------------------------ values

    def ref(self) -> str:
        self.n += 1
        return f"r{self.n}"

    def junk_text(self) -> str:
        rng = self.rng
        choice = rng.randrange(6)
        if choice == 0:
            return "".join(rng.choice(string.printable) for _ in range(rng.randrange(1, 60)))
        if choice == 1:
            if rng.random() < 0.1:  # half a surrogate pair (a JSON escape): closes the socket
                return "\ud800" + rng.choice(["", "x"])
            return "\ud83d\ude00 \U0001f600"  # a whole pair, as an escape and as a character
        if choice == 2:
            return "<script>alert(1)</script>"
        if choice == 3:
            return "x" * rng.choice([0, 1, 20, 21, 64, 65, 281, 2001, 3000])
        if choice == 4:
            return rng.choice(["for", "against", "undecided", "FOR", " for", "plenary", "1"])
        return "é" * rng.randrange(1, 40) + "\u202e\x00"

    def number(self) -> Any:
        rng = self.rng
        if rng.random() < self.floats:
            return rng.choice([1.5, 1e308, float("inf"), float("-inf"), float("nan")])
        return rng.choice(
            [
                0,
                -1,
                1,
                2**31,
                2**63 - 1,
                2**63,
                10**30,
                -(10**30),
                True,
                rng.choice(self.ids["poll"] + self.ids["other"]),
            ]
        )

    def value(self, depth: int = 0) -> Any:
        rng = self.rng
        kind = rng.randrange(7 if depth < 2 else 4)
        if kind == 0:
            return self.junk_text()
        if kind == 1:
            return self.number()
        if kind == 2:
            return rng.choice([None, True, False])
        if kind == 3:
            ids = self.ids[
                rng.choice(["poll", "point", "room", "round", "takeaway", "attendee", "other"])
            ]
            return rng.choice(ids) if ids else 1
        if kind == 4:
            return [self.value(depth + 1) for _ in range(rng.randrange(3))]
        if kind == 5:
            return {self.junk_text()[:10]: self.value(depth + 1) for _ in range(rng.randrange(3))}
        return str(rng.choice(self.ids["poll"] + self.ids["other"]))

    def dumps(self, message: Any) -> str:
        # allow_nan: a client may send NaN and Infinity, which Python's json reads back.
        text = json.dumps(message, ensure_ascii=False)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            # A text frame on the wire is valid UTF-8 (daphne refuses anything else), so
            # surrogates can only come as JSON escapes. A pair decodes to one character; half a
            # pair is not text, and the consumer must refuse it.
            text = json.dumps(message, ensure_ascii=True)
            try:
                json.dumps(json.loads(text), ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                self.lone_surrogate = True
            return text
        return json.dumps(message) if self.rng.random() < 0.5 else text

    # ------------------------------------------------------------ frames

    def frame(self) -> Frame:
        self.lone_surrogate = False
        who = self.rng.choice(["attendee", "attendee", "host", "host", "viewer"])
        kind = self.rng.choices(KINDS, weights=WEIGHTS)[0]
        frame = getattr(self, f"_{kind}")(who)
        frame.kind = kind
        self.kinds[kind] += 1
        if self.lone_surrogate:
            frame.expect, frame.ref, frame.reply = CLOSE_BAD, None, None
        assert frame.text is None or frame.text.encode("utf-8")
        return frame

    def _ping(self, who: str) -> Frame:
        extra = {"pad": self.value()} if self.rng.random() < 0.3 else {}
        return Frame(who, self.dumps({"type": "ping", **extra}), reply="pong")

    def _garbage(self, who: str) -> Frame:
        text = self.rng.choice(
            [
                "",
                "{",
                '{"type": "ping"',
                '{"type": ping}',
                "{'type': 'ping'}",
                "\x00",
                '{"type": "ping", "x": "\\ud800"}',
                '{"type": "vote.cast", "poll": 1, "side": "for",}',
                "nul",
                "[" * 10,
            ]
        )
        text = text or " "  # an empty text frame is no frame at all
        if self.rng.random() < 0.5:
            text = "".join(
                self.rng.choice(string.printable) for _ in range(self.rng.randrange(1, 200))
            )
            if text.lstrip()[:1] in {"[", '"'} or text.strip().lstrip("-").isdigit():
                text = "{" + text  # keep it invalid JSON, not a valid scalar
        return Frame(who, text, expect=CLOSE_BAD)

    def _not_object(self, who: str) -> Frame:
        return Frame(
            who,
            self.dumps(self.rng.choice([[], [1], 1, "ping", None, True, 1.5])),
            expect=CLOSE_BAD,
        )

    def _binary(self, who: str) -> Frame:
        return Frame(who, data=self.rng.randbytes(self.rng.randrange(1, 300)), expect=CLOSE_BAD)

    def _oversized(self, who: str) -> Frame:
        size = self.rng.choice([self.max_frame + 1, 20_000, 1_000_000])
        pad = "x" * size
        return Frame(who, json.dumps({"type": "ping", "pad": pad}), expect=CLOSE_BAD)

    def _deep(self, who: str) -> Frame:
        depth = self.rng.choice([50, 500, 1_000, 1_500, 2_000])
        return Frame(
            who,
            '{"type": "ping", "x": ' + "[" * depth + "]" * depth + "}",
            expect=ANSWER_OR_BAD,
            reply="pong",
        )

    def _unknown_type(self, who: str) -> Frame:
        kind = self.rng.choice(
            ["pong", "vote", "point.add", "tally.updated", "", "PING", self.junk_text()[:20]]
        )
        return Frame(who, self.dumps({"type": kind, "ref": "x"}), expect=CLOSE_BAD)

    def _vote_bad_types(self, who: str) -> Frame:
        rng = self.rng
        message = {
            "type": "vote.cast",
            "poll": rng.choice(self.ids["poll"]),
            "side": "for",
            "ref": "b",
        }
        broken = rng.choice(["poll", "side", "ref", "long_side", "long_ref", "missing"])
        if broken == "poll":
            message["poll"] = rng.choice(
                ["1", 1.0, True, None, [1], {"id": 1}, 0, -5, 2**63, 10**30, float("inf")]
            )
        elif broken == "side":
            message["side"] = rng.choice([1, None, ["for"], {"side": "for"}, True])
        elif broken == "ref":
            message["ref"] = rng.choice([1, None, ["r"], {"r": 1}])
        elif broken == "long_side":
            message["side"] = "f" * 21
        elif broken == "long_ref":
            message["ref"] = "r" * (self.ref_max + 1)
        else:
            del message[rng.choice(["poll", "side"])]
        return Frame(who, self.dumps(message), expect=CLOSE_BAD)

    def _vote(self, who: str) -> Frame:
        rng = self.rng
        who = "attendee" if rng.random() < 0.85 else who  # mostly someone who may vote
        poll = rng.choice(self.ids["poll"] * 3 + self.ids["other"] + [2**63 - 1, 1])
        side = rng.choice(["for", "against", "undecided"] * 3 + [self.junk_text()[:20]])
        ref = self.ref()
        message = {"type": "vote.cast", "poll": poll, "side": side, "ref": ref}
        expect = ANSWER if who == "attendee" else CLOSE_FORBIDDEN
        return Frame(who, self.dumps(message), expect=expect, ref=ref)

    def _command_bad_types(self, who: str) -> Frame:
        rng = self.rng
        message = {
            "type": "host.command",
            "command": "phase.set",
            "ref": "c",
            "data": {"phase": "lobby"},
        }
        broken = rng.choice(["command", "ref", "data", "long_ref"])
        if broken == "command":
            message["command"] = rng.choice([1, None, ["phase.set"], {"c": 1}])
        elif broken == "ref":
            message["ref"] = rng.choice([1, None, []])
        elif broken == "data":
            message["data"] = rng.choice([[], "phase", 1, None, True])
        else:
            message["ref"] = "c" * (self.ref_max + 1)
        return Frame(who, self.dumps(message), expect=CLOSE_BAD)

    def _command(self, who: str) -> Frame:
        rng = self.rng
        # Mostly the host, whose commands are answered; a float now and then (refused).
        who = "host" if rng.random() < 0.85 else who
        self.floats = 0.3 if rng.random() < 0.08 else 0.0
        known = rng.random() < 0.9
        name = (
            rng.choice(list(self.commands))
            if known
            else rng.choice(["export", "poll.delete", "PHASE.SET", ""])
        )
        data = {}
        if known:
            fields = self.commands[name]
            for name_of_field in rng.sample(fields, k=rng.randrange(len(fields) + 1)):
                data[name_of_field] = self.value()
        if rng.random() < 0.2:
            data[self.junk_text()[:12]] = self.value()
        ref = self.ref()
        text = self.dumps({"type": "host.command", "command": name, "ref": ref, "data": data})
        if carries_a_fraction(text):
            expect = CLOSE_BAD  # a wrong field type, whoever sends it
        elif who != "host":
            expect = CLOSE_FORBIDDEN
        elif not known:
            expect = CLOSE_BAD
        else:
            expect = ANSWER
        return Frame(who, text, expect=expect, ref=ref)

    def _room_sync(self, who: str) -> Frame:
        return Frame(who, '{"type": "room.sync"}', reply="room.synced")


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


def show(frame: Frame) -> str:
    body = frame.text if frame.text is not None else repr(frame.data)
    return f"{frame.who}: {body[:300]!r} (expects {frame.expect})"


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


def generator_for(ids: dict[str, list[int]], seed: int = SEED) -> Generator:
    from debates import commands, live

    return Generator(
        random.Random(seed),
        ids,
        commands={name: list(c.form.base_fields) for name, c in commands.COMMANDS.items()},
        max_frame=live.MAX_FRAME,
        ref_max=live.REF_MAX,
    )


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

    The caller lifts debates.frame_budget.FRAME_BURST (see the module docstring).
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

    hub = live._HUB
    return {
        "registry_sockets": sum(len(g) for g in hub.groups.values()) if hub else -1,
        "votes_queued": live.votes_queued(),
    }


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

    from debates import services
    from debates.models import PollKind
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
    poll = services.poll_open(event=event, kind=PollKind.PRE_VOTE)
    services.vote_cast(poll=poll, attendee=attendee, side=Side.FOR)
    round_ = services.round_start(event=event, rooms=1, minutes=15, names=["Oak"])
    services.point_add(
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

    from debates import frame_budget

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
