"""The streaming overlay (issue 17): a transparent page with the live tally, the pinned question
and the reveal, no controls and never the join code, opened with a key the host rotates."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from debates.models import PollKind
from debates.services import questions, voting
from events import admission
from events.models import Event
from events.overlay import overlay_key
from tests.conftest import make_attendee
from tests.debates.sockets import in_thread, initial, open_socket, receive_until, session_for

HTMX = {"HTTP_HX_REQUEST": "true"}


def overlay_path(event: Event, key: str | None = None) -> str:
    return reverse("debates:overlay", args=[event.slug, key or overlay_key(event)])


def rotate(client: Client, event: Event, **extra):
    return client.post(
        reverse("debates:console_command", args=[event.slug, "overlay.rotate"]), **extra
    )


@pytest.mark.django_db
def test_the_console_shows_the_link_and_it_opens_a_transparent_page_without_controls(
    event, host_client
):
    console = host_client.get(reverse("debates:console", args=[event.slug])).content.decode()
    assert overlay_path(event) in console
    voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    response = Client().get(overlay_path(event))  # the streaming software: no session at all
    assert response.status_code == 200
    body = response.content.decode()
    assert 'class="overlay"' in body and "css/overlay" in body
    assert event.motion in body
    assert f'data-live="/ws/e/{event.slug}/"' in body
    for part in ("data-stage", "data-pinned-question", "data-reveal"):
        assert part in body, part
    assert 'data-tally="' in body  # the open poll's live tally
    # Nothing to press: the stage's HTML is the audience's (the socket pushes the same to
    # everyone), so its vote forms are there, and the overlay's style hides every form and
    # button; there is no other form.
    forms = re.findall(r"<form[^>]*>", body)
    assert forms and all('class="vote-form"' in form for form in forms)
    style = (settings.BASE_DIR / "static" / "css" / "overlay.css").read_text()
    assert "body.overlay form, body.overlay button" in style.replace("\n", " ")
    # Nothing that lets a viewer of the stream in.
    assert event.join_code not in body and admission.screen_code(event) not in body
    assert "site-header" not in body


@pytest.mark.django_db
def test_a_wrong_or_another_events_key_is_refused_with_the_reason(event, other_event):
    for path in (overlay_path(event, "0" * 32), overlay_path(event, overlay_key(other_event))):
        response = Client().get(path)
        assert response.status_code == 403
        assert "overlay link is not valid" in response.content.decode()


@pytest.mark.django_db
def test_the_host_rotates_the_link_and_the_old_one_stops_opening(event, host_client):
    old = overlay_path(event)
    panel = rotate(host_client, event, **HTMX)
    assert panel.status_code == 200
    event.refresh_from_db()
    new = overlay_path(event)
    assert new != old and new in panel.content.decode()
    assert Client().get(old).status_code == 403
    assert Client().get(new).status_code == 200
    assert (
        new
        in host_client.get(
            reverse("debates:console_panel", args=[event.slug, "overlay"])
        ).content.decode()
    )


@pytest.mark.django_db
def test_nobody_but_a_host_rotates_it(event, attendee, client):
    from tests.debates.test_breakout import as_attendee

    for outsider in (client, as_attendee(attendee)):
        assert rotate(outsider, event).status_code == 403
    event.refresh_from_db()
    assert event.overlay_generation == 0
    assert Client().get(overlay_path(event)).status_code == 200


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_overlays_socket_gets_the_tally_and_the_pinned_question_and_hosts_the_new_link(
    event,
):
    """What the page shows comes from the socket it opens with no session, as the projector's."""
    ada = await in_thread(make_attendee)(event, "Ada")
    poll = await in_thread(voting.poll_open)(event=event, kind=PollKind.PRE_VOTE)
    overlay = await open_socket(event.slug)
    host = await open_socket(event.slug, await in_thread(session_for)(host_event=event))
    await initial(overlay)
    await initial(host)

    await in_thread(voting.vote_cast)(poll=poll, attendee=ada, side="for")
    tally = await receive_until(
        overlay, lambda m: m["type"] == "tally.updated" and m["total"] == 1, timeout=10
    )
    assert tally["counts"]["for"] == 1

    def ask_and_pin():
        question = questions.question_ask(event=event, attendee=ada, text="Why now?")
        questions.question_pin(question=question)

    await in_thread(ask_and_pin)()
    board = await receive_until(
        overlay, lambda m: m["type"] == "questions.updated" and m.get("pinned"), timeout=10
    )
    assert board["pinned"]["text"] == "Why now?"

    await host.send_json_to(
        {"type": "host.command", "command": "overlay.rotate", "ref": "r", "data": {}}
    )
    # The consoles are told after the commit, so possibly before the command's answer.
    heard = []
    done = await receive_until(
        host, lambda m: heard.append(m["type"]) or m.get("ref") == "r", timeout=10
    )
    assert done["type"] == "command.done"
    if "overlay.changed" not in heard:
        await receive_until(host, lambda m: m["type"] == "overlay.changed", timeout=10)
    assert (await in_thread(Event.objects.get)(pk=event.pk)).overlay_generation == 1
    await overlay.disconnect()
    await host.disconnect()
