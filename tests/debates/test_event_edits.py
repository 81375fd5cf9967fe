"""An organiser's edit reaches the pages open on the event: events announces it on commit
(events.signals.event_changed, as events may not import the debate) and the debate passes it
to live (debates.apps)."""

from __future__ import annotations

import pytest

from debates import live
from events.services import event_update, host_key_rotate
from tests.debates.sockets import in_thread, initial, open_socket, receive_until, session_for

NEW_MOTION = "Roadmaps are a promise nobody can keep."


@pytest.mark.django_db
def test_an_edit_asks_live_for_the_event_state_after_commit(
    event, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        event_update(event=event, motion=NEW_MOTION)
    assert sent.to(live.event_group(event.pk)) == [{"type": "event.changed"}]


@pytest.mark.django_db
def test_saves_that_are_not_edits_ask_live_for_nothing(
    event, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        event_update(event=event, motion=event.motion)
        host_key_rotate(event=event)  # announced to the host sockets only (debates.host_rights)
    assert sent.of_type("event.changed") == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_an_edit_sends_the_event_state_afresh_to_an_open_attendee_page(event, attendee):
    socket = await open_socket(event.slug, await in_thread(session_for)(attendee=attendee))
    first = (await initial(socket))["phase.changed"][0]

    await in_thread(event_update)(event=event, motion=NEW_MOTION)
    changed = await receive_until(socket, lambda m: m["type"] == "phase.changed")
    assert changed["seq"] > first["seq"]  # read after the edit, not the state it had on connect
    await socket.disconnect()
