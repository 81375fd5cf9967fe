"""The socket consumer fuzzed with 10,000+ generated frames: bad JSON, wrong types, huge
numbers, deep nesting, lone surrogates, other events' ids, binary and oversized frames, and
well-formed votes and host commands with hostile data, from an attendee, a host and a viewer.

Never an unhandled error: every frame gets the answer the protocol promises (a reply, or close
code 4400/4403), never a crash (daphne's 1011), and every text the server sends can be put on the
wire (UTF-8). Memory stays bounded: after a warm-up, the Python memory still held (tracemalloc)
does not grow with the number of frames, and the live registry holds only the open sockets.

Driven in-process through the whole ASGI stack (origin check, session, auth, routing) with
WebsocketCommunicator; a connection is reused until a frame closes it, and frames that get a
reply go in bursts, as a busy client's would.

The per-socket frame budget (debates.live.budget) is lifted here: in-process, a burst of 24
frames takes a millisecond, so it would close sockets at moments the generator cannot predict.
What the budget itself does is shown by tests/debates/live/test_budget.py.
"""

from __future__ import annotations

import gc
import json
import random
import string
import tracemalloc
from dataclasses import dataclass
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from debates import host_actions, live
from debates.live import budget as frame_budget
from debates.models import Poll, PollKind, Takeaway
from debates.selectors import ATTENDEE_SESSION_KEY
from productbreaks.asgi import application
from tests.security.conftest import World, session_key_for

FRAMES = 10_500
WARM_UP = 2_000
BURST = 24
MEMORY_GROWTH_LIMIT = 3 * 1024 * 1024  # bytes still held after the warm-up, all frames done
SEED = 20261125

ANSWER = "answer"  # a JSON reply is due (matched by ref, or by type for ping / room.sync)
CLOSE_BAD = live.CLOSE_BAD_MESSAGE
CLOSE_FORBIDDEN = live.CLOSE_FORBIDDEN
ANSWER_OR_BAD = "answer-or-4400"  # deep nesting: parsed (pong) or refused, depending on depth


@dataclass
class Frame:
    who: str  # "attendee", "host" or "viewer"
    text: str | None = None
    data: bytes | None = None
    expect: Any = ANSWER
    ref: str | None = None
    reply: str | None = None  # the reply type when there is no ref (pong, room.synced)


class Generator:
    """Frames with the outcome the protocol (team notes, debates.consumers) promises."""

    def __init__(self, rng: random.Random, ids: dict[str, list[int]]) -> None:
        self.rng = rng
        self.ids = ids  # this event's and other events' ids, by kind
        self.n = 0
        self.floats = 0.0  # how often a number is a float (which closes a command: 4400)

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
        frame = self._frame()
        if self.lone_surrogate:
            frame.expect, frame.ref, frame.reply = CLOSE_BAD, None, None
        assert frame.text is None or frame.text.encode("utf-8")
        return frame

    def _frame(self) -> Frame:
        rng = self.rng
        who = rng.choice(["attendee", "attendee", "host", "host", "viewer"])
        kind = rng.choices(
            [
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
            ],
            weights=[12, 4, 2, 1, 1, 2, 2, 4, 40, 2, 22, 3],
        )[0]
        return getattr(self, f"_{kind}")(who)

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
        size = self.rng.choice([live.MAX_FRAME + 1, 20_000, 1_000_000])
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
            message["ref"] = "r" * (live.REF_MAX + 1)
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
            message["ref"] = "c" * (live.REF_MAX + 1)
        return Frame(who, self.dumps(message), expect=CLOSE_BAD)

    def _command(self, who: str) -> Frame:
        rng = self.rng
        # Mostly the host, whose commands are answered; a float now and then (refused).
        who = "host" if rng.random() < 0.85 else who
        self.floats = 0.3 if rng.random() < 0.08 else 0.0
        known = rng.random() < 0.9
        name = (
            rng.choice(list(host_actions.HOST_ACTIONS))
            if known
            else rng.choice(["export", "poll.delete", "PHASE.SET", ""])
        )
        data = {}
        if known:
            fields = list(host_actions.HOST_ACTIONS[name].form.base_fields)
            for field in rng.sample(fields, k=rng.randrange(len(fields) + 1)):
                data[field] = self.value()
        if rng.random() < 0.2:
            data[self.junk_text()[:12]] = self.value()
        ref = self.ref()
        message = {"type": "host.command", "command": name, "ref": ref, "data": data}
        if _has_float(data):
            expect = CLOSE_BAD  # a wrong field type, whoever sends it
        elif who != "host":
            expect = CLOSE_FORBIDDEN
        elif not known:
            expect = CLOSE_BAD
        else:
            expect = ANSWER
        return Frame(who, self.dumps(message), expect=expect, ref=ref)

    def _room_sync(self, who: str) -> Frame:
        return Frame(who, '{"type": "room.sync"}', reply="room.synced")


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_float(v) for v in value)
    return False


# ---------------------------------------------------------------- driving the consumer


class Failure(AssertionError):
    pass


class Client:
    """One identity's socket, reopened whenever a frame closed it."""

    def __init__(self, slug: str, session_key: str | None) -> None:
        self.slug = slug
        self.session_key = session_key
        self.socket: WebsocketCommunicator | None = None
        self.opened = 0

    async def open(self) -> WebsocketCommunicator:
        if self.socket is None:
            headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
            if self.session_key:
                headers.append((b"cookie", f"sessionid={self.session_key}".encode()))
            socket = WebsocketCommunicator(application, f"/ws/e/{self.slug}/", headers=headers)
            connected, _ = await socket.connect(timeout=10)
            assert connected
            self.socket = socket
            self.opened += 1
        return self.socket

    async def closed(self) -> None:
        socket, self.socket = self.socket, None
        if socket is not None:
            await socket.disconnect()

    async def output(self, frames: list[Frame]) -> dict[str, Any]:
        socket = self.socket
        try:
            output = await socket.receive_output(timeout=10)
        except TimeoutError:
            raise Failure(f"no answer to {[_show(f) for f in frames]}") from None
        except Exception as error:  # the consumer crashed: daphne would close with 1011
            raise Failure(f"unhandled {error!r} after {[_show(f) for f in frames]}") from error
        if output["type"] == "websocket.send":
            text = output.get("text")
            if text is not None:
                try:
                    text.encode("utf-8")  # what daphne does with every text it sends
                except UnicodeEncodeError as error:
                    raise Failure(
                        f"unsendable text {text[:200]!r} for {[_show(f) for f in frames]}"
                    ) from error
        return output


REPLIES = {
    "pong",
    "vote.acknowledged",
    "vote.refused",
    "vote.replaced",
    "command.done",
    "command.refused",
    "room.synced",
}


def _show(frame: Frame) -> str:
    body = frame.text if frame.text is not None else repr(frame.data)
    return f"{frame.who}: {body[:300]!r} (expects {frame.expect})"


async def _run_burst(client: Client, frames: list[Frame]) -> None:
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
            raise Failure(f"closed {output.get('code')} in a burst of {[_show(f) for f in frames]}")
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


async def _run_alone(client: Client, frame: Frame) -> None:
    """A frame that may close the socket: sent on its own, its outcome checked."""
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
                raise Failure(f"closed {code} for {_show(frame)}")
            await client.closed()
            return
        message = json.loads(output["text"])
        if frame.expect == ANSWER_OR_BAD and message["type"] == "pong":
            return
        # Broadcasts may pass by; any reply to this frame instead of the close is wrong.
        if frame.expect not in {ANSWER, ANSWER_OR_BAD} and message["type"] in REPLIES:
            raise Failure(f"answered {message} instead of closing for {_show(frame)}")


def _ids(world: World) -> dict[str, list[int]]:
    from debates.models import BreakoutRoom, BreakoutRound, Point
    from events.models import Attendee

    event, other = world.event, world.other_event
    other_poll = Poll.objects.create(event=other, kind=PollKind.PRE_VOTE, state="open")
    Takeaway.objects.create(event=event, title="Keep it civil")
    return {
        "poll": list(Poll.objects.filter(event=event).values_list("pk", flat=True)),
        "point": list(Point.objects.filter(event=event).values_list("pk", flat=True)),
        "room": list(BreakoutRoom.objects.filter(round__event=event).values_list("pk", flat=True)),
        "round": list(BreakoutRound.objects.filter(event=event).values_list("pk", flat=True)),
        "takeaway": list(Takeaway.objects.filter(event=event).values_list("pk", flat=True)),
        "attendee": list(Attendee.objects.filter(event=event).values_list("pk", flat=True)),
        "other": [other_poll.pk, world.other_attendee.pk],
    }


def _sessions(world: World) -> dict[str, str | None]:
    from django.contrib.sessions.backends.db import SessionStore

    from debates.selectors import HOST_SESSION_KEY

    host = SessionStore()
    host[HOST_SESSION_KEY] = {str(world.event.pk): world.event.host_key}
    # A host who also joined: votes and commands from one socket are both in play.
    host[ATTENDEE_SESSION_KEY] = {}
    host.create()
    return {
        "attendee": session_key_for("attendee", world),
        "host": host.session_key,
        "viewer": None,
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.timeout(240)
async def test_ten_thousand_hostile_frames_never_crash_the_consumer_nor_grow_memory(
    world, monkeypatch
):
    monkeypatch.setattr(frame_budget, "FRAME_BURST", FRAMES)  # see the module docstring
    ids = await database_sync_to_async(_ids)(world)
    sessions = await database_sync_to_async(_sessions)(world)
    clients = {who: Client(world.event.slug, key) for who, key in sessions.items()}
    generator = Generator(random.Random(SEED), ids)
    pending: dict[str, list[Frame]] = {who: [] for who in clients}
    sent = 0
    held_at_warm_up = None
    outcomes = {"answered": 0, "closed": 0}

    async def flush(who: str) -> None:
        if pending[who]:
            await _run_burst(clients[who], pending[who])
            outcomes["answered"] += len(pending[who])
            pending[who] = []

    try:
        while sent < FRAMES:
            frame = generator.frame()
            sent += 1
            if frame.expect == ANSWER:
                pending[frame.who].append(frame)
                if len(pending[frame.who]) >= BURST:
                    await flush(frame.who)
            else:
                await flush(frame.who)
                await _run_alone(clients[frame.who], frame)
                outcomes["closed" if clients[frame.who].socket is None else "answered"] += 1
            if sent == WARM_UP:
                for who in clients:
                    await flush(who)
                gc.collect()
                tracemalloc.start()
                held_at_warm_up = tracemalloc.get_traced_memory()[0]
        for who in clients:
            await flush(who)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - held_at_warm_up
    finally:
        tracemalloc.stop()
        for client in clients.values():
            await client.closed()

    assert sent >= 10_000
    assert outcomes["closed"] > 1_000 and outcomes["answered"] > 5_000, outcomes
    assert held < MEMORY_GROWTH_LIMIT, (
        f"{held / 1e6:.1f} MB still held after {FRAMES - WARM_UP} frames"
    )
    print(f"fuzz: {outcomes}, {held / 1e3:.0f} kB held after the warm-up")
    # Nothing is left behind in the live registry or the vote writer once the sockets are gone.
    stats = live.stats()
    assert stats["groups"] == 0 and stats["sockets"] == 0, stats
    assert live.votes_queued() == 0


# ---------------------------------------------------------------- the defects the fuzz found


async def _close_code(world: World, role: str, text: str) -> int | None:
    key = await database_sync_to_async(session_key_for)(role, world)
    client = Client(world.event.slug, key)
    socket = await client.open()
    await socket.send_to(text_data=text)
    while True:
        output = await socket.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            await client.closed()
            return output.get("code")


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("role", "text"),
    [
        # json.loads raised RecursionError (not ValueError): the consumer crashed.
        ("attendee", '{"type": "ping", "x": ' + "[" * 2000 + "]" * 2000 + "}"),
        ("attendee", "[" * 4000),
        # Half a surrogate pair, escaped: echoed in a refusal it could not be sent (1011).
        (
            "host",
            '{"type": "host.command", "command": "phase.set", "ref": "a", "data": {"phase": "\\ud800"}}',
        ),
        ("attendee", '{"type": "vote.cast", "poll": 1, "side": "for", "ref": "\\udfff"}'),
        # Infinity as an id reached the database as int(inf): OverflowError (1011).
        (
            "host",
            '{"type": "host.command", "command": "poll.close", "ref": "a", "data": {"poll": Infinity}}',
        ),
        (
            "host",
            '{"type": "host.command", "command": "attendee.move", "ref": "a", "data": {"room": 1e400}}',
        ),
    ],
)
async def test_frames_that_crashed_the_consumer_now_close_it_with_4400(world, role, text):
    assert await _close_code(world, role, text) == CLOSE_BAD


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_whole_surrogate_pair_is_text_like_any_other(world):
    key = await database_sync_to_async(session_key_for)("attendee", world)
    client = Client(world.event.slug, key)
    socket = await client.open()
    await socket.send_to(
        text_data=json.dumps(
            {"type": "vote.cast", "poll": world.poll.pk, "side": "against", "ref": "\ud83d\ude00"}
        )
    )
    while True:
        message = json.loads(await socket.receive_from(timeout=5))
        if message["type"] == "vote.acknowledged":
            assert message["ref"] == "\U0001f600"
            break
    await client.closed()


@pytest.mark.django_db
def test_every_console_command_over_http_answers_hostile_posts_without_a_500(world):
    """HTTP's half of "never a 500": a thousand hostile POSTs to the console and the room."""
    from django.test import Client as HttpClient
    from django.urls import reverse

    rng = random.Random(SEED)
    ids = _ids(world)
    generator = Generator(rng, ids)
    host = HttpClient()
    host.force_login(world.users["host"])
    attendee = HttpClient()
    attendee.cookies["sessionid"] = session_key_for("attendee", world)
    slug = world.event.slug
    statuses: dict[int, int] = {}
    for _ in range(1_000):
        name = rng.choice(list(host_actions.HOST_ACTIONS))
        fields = [
            *host_actions.HOST_ACTIONS[name].form.base_fields,
            "side",
            "text",
            "theme",
            "room",
        ]
        data = {field: _form_value(generator.value()) for field in rng.sample(fields, k=3)}
        url = rng.choice(
            [
                reverse("debates:console_command", args=[slug, name]),
                reverse("debates:room_point_add", args=[slug]),
                reverse("debates:room_choose", args=[slug]),
                reverse("debates:vote", args=[slug, rng.choice(ids["poll"])]),
            ]
        )
        client = host if "console" in url else attendee
        response = client.post(url, data, HTTP_HX_REQUEST=rng.choice(["true", ""]))
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    assert all(status < 500 for status in statuses), statuses
    assert statuses.get(400) and (statuses.get(200) or statuses.get(302)), statuses


def _form_value(value: Any) -> str | list[str]:
    """What a form POST can carry: strings (valid UTF-8), or a list of them."""
    if isinstance(value, list):
        return [_form_value(v) if not isinstance(v, list) else "[]" for v in value] or [""]
    text = "" if value is None else str(value)
    return text.encode("utf-8", "replace").decode("utf-8")
