"""Fixtures for the security tests: one event in full swing, the six roles, and proofs that
nothing changed (every row of the apps) and nothing was broadcast (debates.live's entry points).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
)
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.utils import timezone

from debates import live
from debates.models import BreakoutRoom, BreakoutRound, Point, Poll, PollKind, Rehearsal
from debates.selectors import ATTENDEE_SESSION_KEY
from debates.services import points, questions, rounds, voting
from events.models import (
    Attendee,
    Event,
    Membership,
    Phase,
    Side,
    Speaker,
    Subscriber,
    TeamRole,
)
from events.services import subscriber_add
from tests.conftest import make_attendee, make_event

ROLES = (
    "organiser",
    "co_organiser",
    "host",
    "moderator",
    "attendee",
    "other_attendee",
    "anonymous",
)
# A co-organiser is on the event's team (events.team, invited by the organiser); the host and
# the moderator are speakers linked to their accounts.
HOSTS = frozenset({"organiser", "co_organiser", "host", "moderator"})


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
def co_organiser_user(db):
    return get_user_model().objects.create_user("coco", password="pw-co-organiser-1")


@pytest.fixture
def world(event, other_event, organiser, co_organiser_user, host_user, moderator_user) -> World:
    Membership.objects.create(event=event, user=co_organiser_user, role=TeamRole.CO_ORGANISER)
    attendee = make_attendee(event, "Ada")
    other_attendee = make_attendee(other_event, "Otto")
    poll = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    voting.vote_cast(poll=poll, attendee=attendee, side=Side.FOR)
    round_ = rounds.round_start(event=event, rooms=1, minutes=15, names=["Oak"])
    room = round_.rooms.get()
    point = points.point_add(
        room=room, attendee=attendee, theme=event.themes.first(), side=Side.FOR, text="First point"
    )
    # A question on the board, so the pages that list them are checked with one in them.
    questions.question_ask(event=event, attendee=attendee, text="What about remote teams?")
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
        users={
            "organiser": organiser,
            "co_organiser": co_organiser_user,
            "host": host_user,
            "moderator": moderator_user,
        },
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
    for name in ("send", "tally_changed", "event_changed", "changed"):
        real = getattr(live, name)

        def recorder(*args, _name=name, _real=real, **kwargs):
            calls.append((_name, args))
            return _real(*args, **kwargs)

        monkeypatch.setattr(live, name, recorder)
    return calls


# ---------------------------------------------------------------- the served pages


def page_status(label: str, w: World) -> int:
    """The status a page of main_pages answers with: a finished event's join link says the
    debate is over (410 Gone), every other page is a plain 200."""
    return 410 if label == "join link" and w.event.phase == Phase.ENDED else 200


def main_pages(w: World) -> list[tuple[str, str, str]]:
    """(label, role, url) of every page a person opens, with the role that may open it."""
    from django.urls import reverse

    slug = w.event.slug
    pages = [
        ("index", "anonymous", reverse("events:index")),
        ("join", "anonymous", reverse("debates:join")),
        ("join link", "anonymous", reverse("debates:join_link", args=[w.event.join_code])),
        ("login", "anonymous", reverse("login")),
        ("event", "attendee", reverse("debates:event", args=[slug])),
        ("breakout", "attendee", reverse("debates:room", args=[slug])),
        ("projector", "host", reverse("debates:projector", args=[slug])),
        ("projector screen", "host", reverse("debates:screen", args=[slug])),
        ("projector extras", "anonymous", reverse("debates:projector_extras", args=[slug])),
        ("console", "host", reverse("debates:console", args=[slug])),
        ("questions", "attendee", reverse("debates:questions", args=[slug])),
        ("summary", "host", reverse("recaps:summary", args=[slug])),
        ("recap", "host", reverse("recaps:recap", args=[slug])),
        ("organiser home", "organiser", reverse("events:organiser_home")),
        ("new event", "organiser", reverse("events:event_new")),
        ("edit event", "organiser", reverse("events:event_edit", args=[slug])),
        ("outbox", "organiser", reverse("events:event_outbox", args=[slug])),
    ]
    pages += [
        (f"console panel {panel}", "host", reverse("debates:console_panel", args=[slug, panel]))
        for panel in (
            "polls",
            "phase",
            "presence",
            "timeup",
            "door",
            "round",
            "rooms",
            "plenary",
            "takeaways",
            "rehearsal",
            "recap",
            "clock",
            "reveal",
            "questions",
        )
    ]
    return pages


class Page(HTMLParser):
    """A served page as its elements (tag, attributes) and its text, as a browser reads them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.texts: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.texts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.texts)

    def scripts(self) -> list[dict[str, str | None]]:
        """The <script> elements a browser would run (JSON data blocks are not run)."""
        return [
            attrs
            for tag, attrs in self.elements
            if tag == "script"
            and (attrs.get("type") or "text/javascript")
            in {"text/javascript", "module", "application/javascript"}
        ]

    def handlers(self) -> list[tuple[str, str]]:
        """Inline event handlers: on*="..." and htmx's hx-on / data-hx-on (both need
        'unsafe-inline'/eval), and hx-vars, which htmx evaluates."""
        return [
            (tag, name)
            for tag, attrs in self.elements
            for name in attrs
            if name.startswith(("on", "hx-on", "data-hx-on")) or name in {"hx-vars", "data-hx-vars"}
        ]


def prepare_announcement(w: World) -> None:
    """An upcoming event of the same organiser to announce (the one under test has started),
    and the world's subscriber confirmed, so the announcement has someone to go to."""
    w.prepared["upcoming"] = make_event(w.event.organiser, title="Next month")
    Subscriber.objects.filter(email="reader@example.org").update(confirmed_at=timezone.now())


def prepare_rehearsals(w: World) -> None:
    """A draft event with the same hosts and team, for HTTP to start, stop and reset a rehearsal of; and
    a rehearsal on the event under test, for a socket (connected to it) to stop."""
    draft = make_event(w.event.organiser, title="Draft")
    for speaker in w.event.speakers.all():
        Speaker.objects.create(event=draft, name=speaker.name, role=speaker.role, user=speaker.user)
    for member in w.event.memberships.all():
        Membership.objects.create(event=draft, user=member.user, role=member.role)
    w.prepared["draft"] = draft
    now = timezone.now()
    Rehearsal.objects.create(event=w.event, people=3, minutes=5, ends_at=now + timedelta(hours=1))
    Event.objects.filter(pk=w.event.pk).update(rehearsing=True)
