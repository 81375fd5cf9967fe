"""Fixtures for the live debate: what debates.live was asked to broadcast, and rooms."""

from __future__ import annotations

import pytest

from debates import live
from debates.models import PollKind
from debates.services import points, questions, rounds, takeaways, voting
from events.models import Side
from tests.conftest import make_attendee


class Sent(list):
    """Messages the services handed to debates.live.send, as (group, message) pairs."""

    def of_type(self, message_type: str) -> list[tuple[str, dict]]:
        return [(group, message) for group, message in self if message["type"] == message_type]

    def to(self, group: str) -> list[dict]:
        return [message for g, message in self if g == group]


@pytest.fixture
def sent(monkeypatch) -> Sent:
    """Records live.send and live.event_changed calls. They happen after commit: run the
    service inside `with django_capture_on_commit_callbacks(execute=True):` to see them."""
    record = Sent()
    monkeypatch.setattr(live, "send", lambda group, message: record.append((group, message)))
    monkeypatch.setattr(
        live,
        "event_changed",
        lambda event_id: record.append((live.event_group(event_id), {"type": "event.changed"})),
    )
    return record


@pytest.fixture
def live_event(event):
    """An event mid-way: a pre-vote, six attendees in a running round of two rooms, two points
    on the board, a takeaway and two questions from the audience. Returns a dict of the objects commands act on."""
    poll = voting.poll_open(event=event, kind=PollKind.PRE_VOTE)
    people = [make_attendee(event, f"P{i}") for i in range(6)]
    round_ = rounds.round_start(event=event, rooms=2, minutes=10)
    first, second = round_.rooms.all()
    author = first.members.first()
    theme = event.themes.first()
    point = points.point_add(room=first, attendee=author, theme=theme, side=Side.FOR, text="A")
    other = points.point_add(room=first, attendee=author, theme=theme, side=Side.FOR, text="B")
    takeaway = takeaways.takeaway_add(event=event, title="First")
    takeaways.takeaway_add(event=event, title="Second")
    question = questions.question_ask(event=event, attendee=people[0], text="Why a week?")
    duplicate = questions.question_ask(event=event, attendee=people[1], text="Why so long?")
    return {
        "event": event,
        "poll": poll,
        "people": people,
        "round": round_,
        "rooms": (first, second),
        "point": point,
        "other": other,
        "takeaway": takeaway,
        "mover": second.members.first(),
        "question": question,
        "duplicate": duplicate,
    }
