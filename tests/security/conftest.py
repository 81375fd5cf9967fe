"""Fixtures for the security tests: one event in full swing, the six roles, and proofs that
nothing changed (every row of the apps) and nothing was broadcast (debates.live's entry points).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from debates import live, services
from debates.models import BreakoutRoom, BreakoutRound, Point, Poll, PollKind
from debates.selectors import ATTENDEE_SESSION_KEY
from events.models import Attendee, Event, Side, Subscriber
from events.services import subscriber_add
from tests.conftest import make_attendee

ROLES = ("organiser", "host", "moderator", "attendee", "other_attendee", "anonymous")
HOSTS = frozenset({"organiser", "host", "moderator"})


@dataclass
class World:
    """The event under test, mid-breakout: an open pre-vote with one vote, a running round with
    the attendee in its only room, a point on that room's board; and another event with its own
    attendee. The recap is not published."""

    event: Event
    other_event: Event
    attendee: Attendee
    other_attendee: Attendee
    poll: Poll
    round: BreakoutRound
    room: BreakoutRoom
    point: Point
    users: dict[str, Any]


@pytest.fixture
def world(event, other_event, organiser, host_user, moderator_user) -> World:
    attendee = make_attendee(event, "Ada")
    other_attendee = make_attendee(other_event, "Otto")
    poll = services.poll_open(event=event, kind=PollKind.PRE_VOTE)
    services.vote_cast(poll=poll, attendee=attendee, side=Side.FOR)
    round_ = services.round_start(event=event, rooms=1, minutes=15, names=["Oak"])
    room = round_.rooms.get()
    point = services.point_add(
        room=room, attendee=attendee, theme=event.themes.first(), side=Side.FOR, text="First point"
    )
    subscriber_add(email="reader@example.org", consented=True, source_event=event)
    assert Subscriber.objects.count() == 1
    return World(
        event=event,
        other_event=other_event,
        attendee=attendee,
        other_attendee=other_attendee,
        poll=poll,
        round=round_,
        room=room,
        point=point,
        users={"organiser": organiser, "host": host_user, "moderator": moderator_user},
    )


# ---------------------------------------------------------------- who is asking


def session_key_for(role: str, world: World) -> str | None:
    """A saved session as the role's browser holds it (None: no session at all)."""
    if role == "anonymous":
        return None
    session = SessionStore()
    if role in HOSTS:
        user = world.users[role]
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    elif role == "attendee":
        session[ATTENDEE_SESSION_KEY] = {str(world.event.pk): world.attendee.token}
    elif role == "other_attendee":
        other = world.other_attendee
        session[ATTENDEE_SESSION_KEY] = {str(other.event_id): other.token}
    else:
        raise ValueError(role)
    session.create()
    return session.session_key


def client_for(role: str, world: World, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    key = session_key_for(role, world)
    if key is not None:
        client.cookies["sessionid"] = key
    return client


# ---------------------------------------------------------------- nothing changed, nothing sent


def db_state() -> dict[str, list[dict[str, Any]]]:
    """Every row of the product's tables (and accounts): equal before and after means no write."""
    state = {}
    models = [*apps.get_app_config("events").get_models()]
    models += [*apps.get_app_config("debates").get_models()]
    models.append(apps.get_model("auth", "User"))
    for model in models:
        state[model._meta.label] = list(model.objects.order_by("pk").values())
    return state


class LiveCalls(list):
    """Calls to debates.live's broadcast entry points, as (function name, args)."""


@pytest.fixture
def live_calls(monkeypatch) -> LiveCalls:
    """Records every broadcast a service asks for, and still lets it through."""
    calls = LiveCalls()
    for name in ("send", "tally_changed", "event_changed"):
        real = getattr(live, name)

        def recorder(*args, _name=name, _real=real, **kwargs):
            calls.append((_name, args))
            return _real(*args, **kwargs)

        monkeypatch.setattr(live, name, recorder)
    return calls
