"""Limits: votes and points per attendee, a length limit on every text, and validated emails
(joining, guessing codes and the join budget: test_front_door.py).
Every refusal says why, and leaves nothing behind."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from debates import live
from debates.models import Point, PollKind, RoomMember, Takeaway, Vote, VoteLog
from debates.selectors import ATTENDEE_SESSION_KEY
from debates.services import points, rounds, takeaways, voting
from events import services as event_services
from events.admission import screen_code
from events.forms import EventForm, ResourceForm, SpeakerForm, ThemeForm
from events.models import Attendee, Side, Subscriber
from tests.conftest import make_attendee
from tests.debates.sockets import in_thread, initial, open_socket, session_for

HTMX = {"HTTP_HX_REQUEST": "true"}
VENUE = "203.0.113.7"


def attendee_client(attendee: Attendee, **defaults) -> Client:
    client = Client(**defaults)
    session = client.session
    session[ATTENDEE_SESSION_KEY] = {str(attendee.event_id): attendee.token}
    session.save()
    return client


# ---------------------------------------------------------------- votes per attendee


@pytest.mark.django_db
def test_an_attendee_changing_sides_too_fast_is_refused_with_a_clear_message(event, attendee):
    poll = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    client = attendee_client(attendee)
    url = reverse("debates:vote", args=[event.slug, poll.pk])
    sides = [Side.FOR, Side.AGAINST] * voting.VOTE_RATE_LIMIT
    for side in sides[: voting.VOTE_RATE_LIMIT]:
        assert client.post(url, {"side": side}, **HTMX).status_code == 200
    last = sides[voting.VOTE_RATE_LIMIT - 1]

    refused = client.post(url, {"side": Side.UNDECIDED}, **HTMX)
    assert refused.status_code == 429
    assert refused.content.decode() == str(voting.VOTE_TOO_FAST)
    assert Vote.objects.get(attendee=attendee).side == last  # the refused change is not counted
    # Saying the same thing again changes nothing and is never limited.
    assert client.post(url, {"side": last}, **HTMX).status_code == 200

    # A minute later the attendee votes again.
    VoteLog.objects.update(at=VoteLog.objects.first().at - timedelta(seconds=61))
    assert client.post(url, {"side": Side.UNDECIDED}, **HTMX).status_code == 200
    assert Vote.objects.get(attendee=attendee).side == Side.UNDECIDED


@pytest.mark.django_db
def test_the_limit_holds_inside_one_socket_batch_and_spares_the_others(event):
    poll = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    flood, calm = make_attendee(event, "Flood"), make_attendee(event, "Calm")
    sides = [Side.FOR, Side.AGAINST]
    ballots = [
        voting.Ballot(poll_id=poll.pk, attendee_id=flood.pk, event_id=event.pk, side=sides[i % 2])
        for i in range(voting.VOTE_RATE_LIMIT + 5)
    ]
    ballots.append(
        voting.Ballot(poll_id=poll.pk, attendee_id=calm.pk, event_id=event.pk, side=Side.FOR)
    )
    reasons = voting.votes_cast_batch(ballots=ballots).reasons
    limit = voting.VOTE_RATE_LIMIT
    assert reasons[:limit] == [None] * limit
    # Past the limit every change is refused; restating the side held changes nothing and passes.
    held = sides[(limit - 1) % 2]
    for ballot, reason in zip(ballots[limit:-1], reasons[limit:-1], strict=True):
        assert reason == (None if ballot.side == held else str(voting.VOTE_TOO_FAST))
    assert reasons[-1] is None
    assert Vote.objects.get(attendee=flood).side == sides[(limit - 1) % 2]
    assert VoteLog.objects.filter(attendee=flood).count() == limit


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_socket_voter_over_the_limit_gets_vote_refused_with_the_reason(event, attendee):
    poll = await in_thread(voting.poll_open)(event=event, kind=PollKind.PRE_VOTE)
    socket = await open_socket(event.slug, await in_thread(session_for)(attendee=attendee))
    await initial(socket)
    answers = {}
    # One change at a time, each answered before the next (pipelined, a newer vote would replace
    # the queued one before it is written: debates.live keeps one per attendee and poll).
    for i in range(voting.VOTE_RATE_LIMIT + 1):
        side = (Side.FOR, Side.AGAINST)[i % 2]
        await socket.send_json_to(
            {"type": "vote.cast", "poll": poll.pk, "side": side, "ref": str(i)}
        )
        while str(i) not in answers:
            message = await socket.receive_json_from(timeout=5)
            if message["type"].startswith("vote."):
                answers[message["ref"]] = message
    last = answers[str(voting.VOTE_RATE_LIMIT)]
    assert last["type"] == "vote.refused" and last["reason"] == str(voting.VOTE_TOO_FAST)
    assert all(
        answers[str(i)]["type"] == "vote.acknowledged" for i in range(voting.VOTE_RATE_LIMIT)
    )
    await socket.disconnect()


# ---------------------------------------------------------------- points per attendee


@pytest.mark.django_db
def test_an_attendee_adding_points_too_fast_is_refused_with_a_clear_message(event):
    ada, bo = make_attendee(event, "Ada"), make_attendee(event, "Bo")
    rounds.round_start(event=event, rooms=1, minutes=20)
    theme = event.themes.first()
    url = reverse("debates:room_point_add", args=[event.slug])
    client = attendee_client(ada)
    for n in range(points.POINT_RATE_LIMIT):
        data = {"theme": theme.pk, "side": Side.FOR, "text": f"Point {n}"}
        assert client.post(url, data, **HTMX).status_code == 200
    refused = client.post(url, {"theme": theme.pk, "side": Side.FOR, "text": "One more"}, **HTMX)
    assert refused.status_code == 429
    assert refused.content.decode() == str(points.POINT_TOO_FAST)
    assert not Point.objects.filter(text="One more").exists()
    # Someone else in the room is not held back by it.
    data = {"theme": theme.pk, "side": Side.AGAINST, "text": "Bo's point"}
    assert attendee_client(bo).post(url, data, **HTMX).status_code == 200

    Point.objects.update(created_at=Point.objects.first().created_at - timedelta(seconds=61))
    assert (
        client.post(url, {"theme": theme.pk, "side": Side.FOR, "text": "Later"}).status_code == 302
    )


# ---------------------------------------------------------------- guessing join codes
# The wrong-code throttle, the join budget and proof of presence: tests/security/test_front_door.py


def _join(code: str, address: str = VENUE, name: str = "") -> int:
    response = Client(REMOTE_ADDR=address).post(
        reverse("debates:join"), {"code": code, "display_name": name}
    )
    return response.status_code


# ---------------------------------------------------------------- a length limit on every text


@pytest.fixture
def console(client, host_user, event):
    """A host's client and a running round with a room, a point and a takeaway."""
    client.force_login(host_user)
    ada = make_attendee(event, "Ada")
    voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    round_ = rounds.round_start(event=event, rooms=1, minutes=20)
    room = round_.rooms.get()
    point = points.point_add(
        room=room, attendee=ada, theme=event.themes.first(), side=Side.FOR, text="A point"
    )
    takeaway = takeaways.takeaway_add(event=event, title="A takeaway")
    return {"client": client, "round": round_, "room": room, "point": point, "takeaway": takeaway}


CONSOLE_TEXTS = [
    # (command, the field, its limit, the other fields, the model and field that would hold it)
    ("takeaway.add", "title", takeaways.TAKEAWAY_TITLE_MAX_LENGTH, {}, (Takeaway, "title")),
    (
        "takeaway.add",
        "text",
        takeaways.TAKEAWAY_TEXT_MAX_LENGTH,
        {"title": "T"},
        (Takeaway, "text"),
    ),
    ("round.message", "text", rounds.ROUND_MESSAGE_MAX_LENGTH, {"round": "round"}, None),
    ("room.update", "name", rounds.ROOM_NAME_MAX_LENGTH, {"room": "room"}, None),
    (
        "room.update",
        "location",
        rounds.ROOM_LOCATION_MAX_LENGTH,
        {"room": "room", "name": "Oak"},
        None,
    ),
    ("point.edit", "text", points.POINT_MAX_LENGTH, {"point": "point"}, (Point, "text")),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("command", "field", "limit", "other", "stored"),
    CONSOLE_TEXTS,
    ids=[f"{c}-{f}" for c, f, *_ in CONSOLE_TEXTS],
)
def test_console_texts_over_their_limit_are_refused(console, command, field, limit, other, stored):
    data = {k: console[v].pk if v in console else v for k, v in other.items()}
    url = reverse("debates:console_command", args=[console["round"].event.slug, command])
    too_long = console["client"].post(url, data | {field: "x" * (limit + 1)}, **HTMX)
    assert too_long.status_code == 400
    assert str(limit) in too_long.content.decode().replace(",", "")  # says what the limit is
    just_right = console["client"].post(url, data | {field: "y" * limit}, **HTMX)
    assert just_right.status_code == 200
    if stored:
        model, column = stored
        assert model.objects.filter(**{column: "y" * limit}).exists()
        assert not model.objects.filter(**{f"{column}__startswith": "x" * limit}).exists()


@pytest.mark.django_db
def test_a_room_link_must_be_a_short_full_address(console):
    url = reverse("debates:console_command", args=[console["round"].event.slug, "room.update"])
    data = {"room": console["room"].pk, "name": "Oak"}
    for bad in ("javascript:alert(1)", "https://example.org/" + "x" * 200):
        response = console["client"].post(url, data | {"video_url": bad}, **HTMX)
        assert response.status_code == 400
    console["room"].refresh_from_db()
    assert console["room"].video_url == ""


@pytest.mark.django_db
def test_a_point_over_its_limit_is_refused_over_http(event):
    ada = make_attendee(event, "Ada")
    rounds.round_start(event=event, rooms=1, minutes=20)
    url = reverse("debates:room_point_add", args=[event.slug])
    data = {"theme": event.themes.first().pk, "side": Side.FOR}
    response = attendee_client(ada).post(url, data | {"text": "x" * 281}, **HTMX)
    assert (response.status_code, response.content.decode()) == (400, str(points.POINT_TOO_LONG))
    assert not Point.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [("display_name", "x" * 41), ("code", "A" * 21)],
)
def test_join_texts_over_their_limit_are_refused(event, field, value):
    data = {"code": screen_code(event), "display_name": "Ada"} | {field: value}
    response = Client().post(reverse("debates:join"), data)
    assert response.status_code == 400
    assert "at most" in response.content.decode()
    assert not Attendee.objects.exists()


@pytest.mark.django_db
def test_a_name_of_exactly_the_limit_joins(event):
    assert _join(screen_code(event), name="n" * 40) == 302
    assert Attendee.objects.get().display_name == "n" * 40


ORGANISER_TEXTS = [
    (EventForm, "title", 200),
    (EventForm, "motion", 300),
    (EventForm, "intro", 5000),
    (EventForm, "venue", 200),
    (EventForm, "room_video_pattern", 300),
    (SpeakerForm, "name", 120),
    (SpeakerForm, "affiliation", 200),
    (SpeakerForm, "statement", 5000),
    (SpeakerForm, "account", 254),
    (ThemeForm, "name", 100),
    (ThemeForm, "prompt", 300),
    (ResourceForm, "title", 200),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("form_class", "field", "limit"),
    ORGANISER_TEXTS,
    ids=[f"{f.__name__}-{n}" for f, n, _ in ORGANISER_TEXTS],
)
def test_organiser_texts_have_a_limit(form_class, field, limit):
    form = form_class(data={field: "x" * (limit + 1)})
    form.is_valid()
    assert f"at most {limit} characters" in " ".join(form.errors.get(field, [])), form.errors


@pytest.mark.django_db
def test_a_resource_link_has_a_limit():
    form = ResourceForm(data={"title": "T", "url": "https://example.org/" + "x" * 500})
    assert not form.is_valid() and "url" in form.errors


@pytest.mark.django_db
def test_a_request_body_beyond_the_upload_limit_is_refused(event, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = Client().post(reverse("debates:join"), {"code": event.join_code, "x": "y" * 20_000})
    assert response.status_code == 400
    assert not Attendee.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_socket_frames_and_refs_over_their_limit_close_the_socket(event, attendee):
    poll = await in_thread(voting.poll_open)(event=event, kind=PollKind.PRE_VOTE)
    key = await in_thread(session_for)(attendee=attendee)
    for frame in (
        '{"type": "ping", "pad": "' + "x" * live.MAX_FRAME + '"}',
        json.dumps({"type": "vote.cast", "poll": poll.pk, "side": "for", "ref": "r" * 65}),
    ):
        socket = await open_socket(event.slug, key)
        await initial(socket)
        await socket.send_to(text_data=frame)
        closed = await socket.receive_output(timeout=5)
        assert (closed["type"], closed["code"]) == ("websocket.close", live.CLOSE_BAD_MESSAGE)
    assert not await in_thread(Vote.objects.exists)()


# ---------------------------------------------------------------- emails


BAD_EMAILS = [
    "",
    "plainaddress",
    "@example.org",
    "ada@",
    "ada lovelace@example.org",
    "ada@example..org",
    "<script>@example.org",
    "ada@example.org\nBcc: eve@example.org",
    "x" * 250 + "@example.org",
]


@pytest.mark.django_db
@pytest.mark.parametrize("email", BAD_EMAILS)
def test_bad_emails_are_refused_with_one_clear_message(client, email):
    response = client.post(reverse("events:subscribe"), {"email": email, "consent": "on"})
    assert response.status_code == 400
    assert str(event_services.SUBSCRIBE_EMAIL_INVALID) in response.content.decode()
    assert not Subscriber.objects.exists()


@pytest.mark.django_db
def test_a_good_email_is_kept(client):
    response = client.post(
        reverse("events:subscribe"), {"email": "ada@example.org", "consent": "on"}
    )
    assert response.status_code == 302
    assert Subscriber.objects.get().email == "ada@example.org"


@pytest.mark.django_db
def test_the_subscribe_form_refuses_an_overlong_return_address(client):
    data = {"email": "ada@example.org", "consent": "on", "next": "/" + "x" * 300}
    assert client.post(reverse("events:subscribe"), data).status_code == 400
    assert not Subscriber.objects.exists()


@pytest.mark.django_db
def test_limits_leave_room_membership_alone(event):
    """Refusing a point is not leaving the room: the refused attendee keeps their place."""
    ada = make_attendee(event, "Ada")
    rounds.round_start(event=event, rooms=1, minutes=20)
    client = attendee_client(ada)
    url = reverse("debates:room_point_add", args=[event.slug])
    for n in range(points.POINT_RATE_LIMIT + 1):
        client.post(url, {"theme": event.themes.first().pk, "side": Side.FOR, "text": f"P{n}"})
    assert RoomMember.objects.filter(attendee=ada).count() == 1
