"""The socket consumer fuzzed with generated hostile frames (bench.fuzz_frames has the
generator and its oracle, bench.fuzz the driver): bad JSON, wrong types, huge numbers, deep
nesting, lone surrogates, other events' ids, binary and oversized frames, and well-formed votes
and host commands with hostile data, from an attendee, a host and a viewer.

Never an unhandled error: every frame gets the answer the protocol promises (a reply, or close
code 4400/4403), never a crash (daphne's 1011), and every text the server sends can be put on the
wire (UTF-8). Memory stays bounded: after a warm-up, the Python memory still held (tracemalloc)
does not grow with the number of frames, and the live registry holds only the open sockets.

Here 3,000 frames, every kind of frame among them, hold to the same properties as the bench's
10,500 (`python -m bench.run fuzz`); the memory limit is the bench's per frame.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.db import database_sync_to_async

from bench import fuzz, fuzz_frames
from debates import host_actions, live
from debates.live import budget as frame_budget
from productbreaks.asgi import application
from tests.security.conftest import World, session_key_for

FRAMES = 3_000
WARM_UP = 1_000
CLOSE_BAD = live.CLOSE_BAD_MESSAGE


def _ids(world: World) -> dict[str, list[int]]:
    return fuzz.event_ids(
        event=world.event, other_event=world.other_event, other_attendee=world.other_attendee
    )


def _sessions(world: World) -> dict[str, str | None]:
    return fuzz.sessions_for(event=world.event, attendee=world.attendee)


def test_the_oracle_writes_the_close_codes_the_consumer_uses():
    assert (fuzz_frames.CLOSE_BAD, fuzz_frames.CLOSE_FORBIDDEN) == (
        live.CLOSE_BAD_MESSAGE,
        live.CLOSE_FORBIDDEN,
    )


@pytest.mark.parametrize(
    ("data", "fraction"),
    [
        ({"poll": 1.5}, True),
        ({"poll": 1e308}, True),
        ({"poll": float("inf")}, True),
        ({"poll": float("-inf")}, True),
        ({"poll": float("nan")}, True),
        ({"x": [1, {"y": [2.0]}]}, True),
        ({"poll": 10**30, "n": -(2**63), "b": True, "s": "1.5"}, False),
        ({}, False),
    ],
)
def test_the_oracle_sees_a_fraction_wherever_the_json_text_carries_one(data, fraction):
    text = json.dumps({"type": "host.command", "command": "poll.close", "ref": "r", "data": data})
    assert fuzz_frames.carries_a_fraction(text) is fraction


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.timeout(300)
async def test_thousands_of_hostile_frames_never_crash_the_consumer_nor_grow_memory(
    world, monkeypatch
):
    monkeypatch.setattr(frame_budget, "FRAME_BURST", FRAMES)  # see bench.fuzz's docstring
    report = await fuzz.fuzz(
        slug=world.event.slug,
        ids=await database_sync_to_async(_ids)(world),
        sessions=await database_sync_to_async(_sessions)(world),
        frames=FRAMES,
        warm_up=WARM_UP,
    )
    print(f"fuzz: {json.dumps({k: v for k, v in report.items() if k != 'failures'})}")
    assert report["frames"] == FRAMES
    assert fuzz.verdict(report) == []


# ---------------------------------------------------------------- the defects the fuzz found


async def _close_code(world: World, role: str, text: str) -> int | None:
    key = await database_sync_to_async(session_key_for)(role, world)
    client = fuzz.Client(application, world.event.slug, key)
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
    client = fuzz.Client(application, world.event.slug, key)
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


@pytest.mark.slow
@pytest.mark.django_db
def test_every_console_command_over_http_answers_hostile_posts_without_a_500(world):
    """HTTP's half of "never a 500": a thousand hostile POSTs to the console and the room."""
    from django.test import Client as HttpClient
    from django.urls import reverse

    ids = _ids(world)
    generator = fuzz_frames.generator_for(ids)
    rng = generator.rng
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
