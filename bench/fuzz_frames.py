"""The frames of the socket fuzz (bench.fuzz) and the outcome the protocol promises for each.

A seeded generator of bad JSON, wrong types, huge numbers, deep nesting, lone surrogates, other
events' ids, binary and oversized frames, and well-formed votes and host commands with hostile
data, from an attendee, a host and a viewer. The oracle is written from the protocol, not read
from debates.consumers: the close codes are spelled out, and whether a command carries a
fraction is read off the frame's JSON text.
"""

from __future__ import annotations

import json
import random
import string
from collections import Counter
from dataclasses import dataclass
from typing import Any

SEED = 20261125

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


def show(frame: Frame) -> str:
    body = frame.text if frame.text is not None else repr(frame.data)
    return f"{frame.who}: {body[:300]!r} (expects {frame.expect})"


def generator_for(ids: dict[str, list[int]], seed: int = SEED) -> Generator:
    from debates import host_actions, live

    return Generator(
        random.Random(seed),
        ids,
        commands={
            name: list(action.form.base_fields)
            for name, action in host_actions.HOST_ACTIONS.items()
        },
        max_frame=live.MAX_FRAME,
        ref_max=live.REF_MAX,
    )
