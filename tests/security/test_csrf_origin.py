"""CSRF on every POST, and the socket's Origin check.

Every URL the project routes is listed from the resolver, so a view added later is covered
without editing this file, and none may be csrf_exempt but one: the unsubscribe link, which
RFC 8058's one-click POST reaches from a mail provider's servers without a token (its signed
token in the URL is the credential, and names one address).
"""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from debates import live
from debates.models import PollKind, Vote
from debates.models_audience import Question
from events.admission import screen_code
from events.models import Side, Subscriber
from events.services import unsubscribe_token
from productbreaks.asgi import application
from tests.security.conftest import World, db_state, session_key_for

CSRF_FAILED = "CSRF verification failed"
ADMIN_POSTS = ("admin:login", "admin:logout", "admin:auth_user_add", "admin:events_event_add")
ONE_CLICK = "events:unsubscribe"


def _routes():
    """Every routed pattern outside the admin: (name with namespace, its converters, callback)."""

    def walk(patterns, namespace=None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and namespace != "admin":
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                yield name, list(pattern.pattern.converters), pattern.callback

    return list(walk(get_resolver().url_patterns))


ROUTES = _routes()


def _url(name: str, converters: list[str], w: World) -> str:
    values = {
        "slug": w.event.slug,
        "code": w.event.join_code,
        "poll_id": w.poll.pk,
        "point_id": w.point.pk,
        "key": w.event.host_key,
        "name": "phase.set",
        "panel": "polls",
        "token": unsubscribe_token("someone@example.org"),
        "question_id": Question.objects.filter(event=w.event).values_list("pk", flat=True)[0],
    }
    return reverse(name, kwargs={k: values[k] for k in converters})


def _payload(w: World) -> dict:
    """What the forms expect, so that only the missing token stands in the way."""
    return {
        "code": screen_code(w.event),
        "display_name": "Mallory",
        "side": Side.AGAINST,
        "phase": "plenary",
        "kind": PollKind.FINAL_VOTE,
        "results_visibility": "live",
        "email": "mallory@example.org",
        "consent": "on",
        "publish": "1",
        "theme": w.event.themes.first().pk,
        "text": "Forged",
        "room": w.room.pk,
        "username": "org",
        "password": "pw-organiser-1",
    }


def test_no_view_is_exempt_from_csrf():
    assert ROUTES, "the resolver lists no routes"
    exempt = [name for name, _, callback in ROUTES if getattr(callback, "csrf_exempt", False)]
    assert exempt == [ONE_CLICK]


@pytest.mark.django_db
def test_every_post_without_a_token_is_refused_and_changes_nothing(world):
    # A signed-in organiser and a joined attendee at once: only the token is missing.
    client = Client(enforce_csrf_checks=True)
    client.cookies["sessionid"] = session_key_for("organiser", world)
    client.force_login(world.users["organiser"])
    before = db_state()
    urls = [_url(name, converters, world) for name, converters, _ in ROUTES if name != ONE_CLICK]
    urls += [reverse(name) for name in ADMIN_POSTS]
    refused = {}
    for url in urls:
        response = client.post(url, _payload(world))
        refused[url] = (response.status_code, CSRF_FAILED in response.content.decode())
    assert refused == dict.fromkeys(urls, (403, True))
    assert db_state() == before


@pytest.mark.django_db
def test_the_one_click_unsubscribe_takes_no_token_and_removes_only_its_address(world):
    client = Client(enforce_csrf_checks=True)
    before = db_state()
    elsewhere = client.post(_url(ONE_CLICK, ["token"], world), HTTP_ORIGIN="http://evil.example")
    assert elsewhere.status_code == 200  # someone@example.org: not on the list
    assert db_state() == before
    reader = reverse(ONE_CLICK, args=[unsubscribe_token("reader@example.org")])
    assert client.post(reader, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert not Subscriber.objects.filter(email="reader@example.org").exists()


@pytest.mark.django_db
def test_with_the_token_the_same_posts_get_past_the_check(world):
    """The other half: the refusals above come from the missing token, not from elsewhere."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["organiser"])
    client.get(reverse("debates:join"))
    for name, converters, _ in ROUTES:
        url = _url(name, converters, world)
        token = client.cookies["csrftoken"].value  # logging in rotates it
        response = client.post(url, _payload(world) | {"csrfmiddlewaretoken": token})
        assert CSRF_FAILED not in response.content.decode(), url


@pytest.mark.django_db
def test_htmx_posts_carry_the_token_in_a_header(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["host"])
    token = client.get(reverse("debates:join")).cookies["csrftoken"].value
    url = reverse("debates:console_command", args=[world.event.slug, "phase.set"])
    assert client.post(url, {"phase": "plenary"}, HTTP_HX_REQUEST="true").status_code == 403
    response = client.post(
        url, {"phase": "plenary"}, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 200


@pytest.mark.django_db
def test_a_post_from_a_foreign_origin_is_refused_even_with_a_token(world):
    client = Client(enforce_csrf_checks=True)
    token = client.get(reverse("debates:join")).cookies["csrftoken"].value
    data = {"code": screen_code(world.event), "csrfmiddlewaretoken": token}
    foreign = client.post(reverse("debates:join"), data, HTTP_ORIGIN="http://evil.example")
    assert foreign.status_code == 403
    same = client.post(reverse("debates:join"), data, HTTP_ORIGIN="http://testserver")
    assert same.status_code == 302


# ---------------------------------------------------------------- the socket's Origin


async def _attempt(slug: str, origin: bytes | None, session_key: str | None = None):
    headers = [(b"host", b"testserver")]
    if origin is not None:
        headers.append((b"origin", origin))
    if session_key:
        headers.append((b"cookie", f"sessionid={session_key}".encode()))
    socket = WebsocketCommunicator(application, f"/ws/e/{slug}/", headers=headers)
    connected, _ = await socket.connect(timeout=5)
    return socket, connected


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize(
    "origin",
    [
        b"http://evil.example",
        b"https://testserver.evil.example",
        b"http://evil.example:80",
        b"null",
        b"",
        None,  # no Origin header at all: not a browser page of ours
    ],
)
async def test_a_socket_from_a_foreign_origin_is_refused(origin, world):
    key = await database_sync_to_async(session_key_for)("attendee", world)
    _refused, connected = await _attempt(world.event.slug, origin, key)
    assert not connected
    assert live.members(live.event_group(world.event.pk)) == set()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_socket_from_our_own_page_is_accepted_and_votes(world):
    key = await database_sync_to_async(session_key_for)("attendee", world)
    socket, connected = await _attempt(world.event.slug, b"http://testserver", key)
    assert connected
    await socket.send_to(
        text_data=json.dumps({"type": "vote.cast", "poll": world.poll.pk, "side": "against"})
    )
    while True:
        message = json.loads(await socket.receive_from(timeout=5))
        if message["type"] == "vote.acknowledged":
            break
    await socket.disconnect()
    vote = await database_sync_to_async(Vote.objects.get)(poll=world.poll, attendee=world.attendee)
    assert vote.side == Side.AGAINST
