"""What the socket says is in the reader's language (refusal reasons, like their page), and
what it pushes to every screen of an event at once is in the event's language."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator
from django.utils import translation

from debates import realtime, selectors
from debates.models import PollKind
from debates.services import voting
from events.models import Event, Phase
from productbreaks.asgi import application
from tests.debates.sockets import in_thread, initial, receive_until, session_for

CLOSED_EN = "This poll is closed."
CLOSED_FR = "Ce vote est clos."


async def _socket(slug: str, session_key: str, *extra: tuple[bytes, bytes]):
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver"), *extra]
    cookie = f"sessionid={session_key}"
    for name, value in extra:
        if name == b"cookie":
            cookie += "; " + value.decode()
    headers = [h for h in headers if h[0] != b"cookie"] + [(b"cookie", cookie.encode())]
    communicator = WebsocketCommunicator(application, f"/ws/e/{slug}/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    await initial(communicator)
    return communicator


async def _refusal(communicator, poll) -> str:
    await communicator.send_json_to(
        {"type": "vote.cast", "poll": poll.pk, "side": "for", "ref": "r1"}
    )
    refused = await receive_until(communicator, lambda m: m["type"] == "vote.refused")
    return refused["reason"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ((), CLOSED_EN),
        (((b"accept-language", b"fr-FR,fr;q=0.9"),), CLOSED_FR),
        (((b"cookie", b"django_language=fr"),), CLOSED_FR),
        (((b"accept-language", b"fr"), (b"cookie", b"django_language=en-gb")), CLOSED_EN),
    ],
)
async def test_a_refused_vote_is_explained_in_the_sockets_language(
    event, attendee, headers, expected
):
    poll = await in_thread(voting.poll_open)(event=event, kind=PollKind.PRE_VOTE)
    await in_thread(voting.poll_close)(poll=poll)
    session = await in_thread(session_for)(attendee=attendee)
    socket = await _socket(event.slug, session, *headers)
    assert await _refusal(socket, poll) == expected
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_refused_question_is_explained_in_the_sockets_language(event, attendee):
    session = await in_thread(session_for)(attendee=attendee)
    socket = await _socket(event.slug, session, (b"accept-language", b"fr"))
    await socket.send_json_to({"type": "question.ask", "ref": "q1", "text": " ", "name": ""})
    refused = await receive_until(socket, lambda m: m["type"] == "question.refused")
    assert refused["reason"] == "Écrivez d’abord votre question."
    await socket.disconnect()


@pytest.mark.django_db
def test_the_stage_pushed_to_every_socket_is_in_the_events_language(event):
    voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    Event.objects.filter(pk=event.pk).update(language="fr", phase=Phase.PRE_VOTE)
    event.refresh_from_db()
    with translation.override("en-gb"):
        message = realtime.event_message(event, selectors.poll_snapshots(event_id=event.pk))
        assert translation.get_language() == "en-gb"
    assert "Voter POUR" in message["html"] and "Vote FOR" not in message["html"]
    with translation.override("fr"):
        french_label = str(Phase(event.phase).label)
    assert message["label"] == french_label != str(Phase(event.phase).label)
