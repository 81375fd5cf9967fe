"""What a socket's connect reads (debates.realtime.connection_read): a bounded number of queries,
whatever the event holds. Every attendee's page connects, so at the start of an event, when a
whole room joins at once (bench `storm`), these queries are most of a socket's cost."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from debates import realtime
from debates.models_audience import Question
from debates.selectors import ATTENDEE_SESSION_KEY
from debates.services import clock, questions, reactions
from events.models import Side, Turn
from tests.conftest import make_attendee

pytestmark = pytest.mark.django_db


class Session(dict):
    session_key = "k"


def _connect(event, person) -> tuple[int, list[str]]:
    session = Session({ATTENDEE_SESSION_KEY: {str(event.pk): person.token}})
    with CaptureQueriesContext(connection) as read:
        got = realtime.connection_read(slug=event.slug, session=session, user=None)
    assert got is not None and got.attendee_id == person.pk
    return len(read.captured_queries), got.messages


def test_a_connect_reads_a_dozen_queries_however_much_the_event_holds(event):
    ada = make_attendee(event, "Ada")
    # Nothing on stage yet: the event, who this is, the polls, their votes, the questions (one
    # query while fewer than a screenful are shown), the question settings, their own
    # questions and upvotes (one query), the reaction meter, the clock (two), the reveal and
    # their breakout room.
    empty, _ = _connect(event, ada)
    assert empty <= 12

    # A busy evening: many questions, some Ada's, some upvoted by her; a turn on the clock; taps.
    others = [make_attendee(event, f"P{n}") for n in range(40)]
    asked = [
        questions.question_ask(event=event, attendee=person, text=f"Question {n}?")
        for n, person in enumerate([ada, *others])
    ]
    for question in asked[1:25]:
        questions.question_upvote(question=question, attendee=ada)
    Turn.objects.create(event=event, label="Opening", side=Side.FOR, seconds=60, position=0)
    clock.clock_start(event=event)
    reactions.reactions_flush(
        sums={(event.pk, reactions.bucket_of(timezone.now()), "agree"): (9, 5)}
    )
    busy, messages = _connect(event, ada)
    # The board's newest, count and pinned, and the clock's next turn: four more, not one per
    # question, upvote or tap.
    assert busy <= empty + 4
    assert Question.objects.filter(event=event).count() == 41
    synced = next(m for m in messages if '"questions.synced"' in m)
    assert f'"asked":[{asked[0].pk}]' in synced.replace(" ", "")
