"""The audience in the recap: answered questions when the organiser chose to list them (names
only when given, small upvote counts withheld), and reaction totals per window with the
small-group rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from debates.models import TurnRun
from debates.models_audience import ReactionCount
from debates.reaction_tally import Tally
from debates.services import questions, reactions
from recaps import audience
from tests.conftest import make_attendee

pytestmark = pytest.mark.django_db

AT = datetime(2026, 11, 29, 19, 0, tzinfo=UTC)


@pytest.fixture
def answered(event, attendee):
    """Two answered questions (one named, one with 5 upvotes), one unanswered."""
    named = questions.question_ask(event=event, attendee=attendee, text="Named?", name="Ada L.")
    popular = questions.question_ask(event=event, attendee=attendee, text="Popular?")
    questions.question_ask(event=event, attendee=attendee, text="Never answered?")
    for i in range(5):
        questions.question_upvote(question=popular, attendee=make_attendee(event, f"U{i}"))
    questions.question_upvote(question=named, attendee=make_attendee(event, "One"))
    for question in (named, popular):
        questions.question_answer(question=question)
    return named, popular


def _pages(client, event) -> dict[str, str]:
    return {
        name: client.get(reverse(f"recaps:{name}", args=[event.slug])).content.decode()
        for name in ("summary", "recap", "export_markdown")
    }


def test_answered_questions_are_listed_only_when_the_organiser_chose_so(
    host_client, event, answered
):
    for body in _pages(host_client, event).values():
        assert "Named?" not in body and "Popular?" not in body

    questions.questions_settings_set(event=event, premoderated=False, answered_in_recap=True)
    for name, body in _pages(host_client, event).items():
        assert "Named?" in body and "Popular?" in body, name
        assert "Never answered?" not in body, name
        assert "Ada L." in body and "Anonymous" in body, name
        assert "5 upvotes" in body and "fewer than 5 upvotes" in body, name


def test_the_author_of_an_anonymous_question_appears_nowhere(host_client, event, attendee):
    attendee.display_name = "Zebulon Quartz"
    attendee.save(update_fields=["display_name"])
    question = questions.question_ask(event=event, attendee=attendee, text="Who asks?")
    questions.question_answer(question=question)
    questions.questions_settings_set(event=event, premoderated=False, answered_in_recap=True)
    for body in _pages(host_client, event).values():
        assert "Who asks?" in body and "Zebulon" not in body


def test_reaction_totals_show_only_behind_five_people(host_client, event):
    ReactionCount.objects.create(event=event, bucket=AT, kind="agree", taps=40, people=9)
    ReactionCount.objects.create(event=event, bucket=AT, kind="unclear", taps=6, people=2)
    ReactionCount.objects.create(
        event=event, bucket=AT + timedelta(seconds=15), kind="unclear", taps=3, people=4
    )
    recap = audience.audience_recap(event)
    [window] = recap.reactions
    taps = {row.kind: row.taps for row in window.rows}
    assert taps == {"agree": 40, "unconvinced": 0, "unclear": None}
    assert (window.start, window.end) == (AT, AT + timedelta(seconds=15) + reactions.BUCKET)
    for body in _pages(host_client, event).values():
        assert "40" in body and "How the room reacted" in body


def test_reaction_totals_are_given_per_speakers_turn_once_turns_ran(host_client, event):
    """Issue 15: the recap gives the totals per speaker turn (the turns that ran on the clock)."""
    opening = TurnRun.objects.create(
        event=event,
        label="Opening FOR",
        side="for",
        speaker="Priya Raman",
        planned_seconds=60,
        loaded_at=AT,
        started_at=AT,
        ended_at=AT + timedelta(seconds=60),
    )
    TurnRun.objects.create(
        event=event,
        label="Opening AGAINST",
        side="against",
        planned_seconds=60,
        loaded_at=AT + timedelta(seconds=60),
        started_at=AT + timedelta(seconds=60),
        ended_at=AT + timedelta(seconds=120),
    )
    ReactionCount.objects.create(event=event, bucket=AT, kind="agree", taps=12, people=6)
    ReactionCount.objects.create(
        event=event, bucket=AT + timedelta(seconds=15), kind="agree", taps=8, people=5
    )
    ReactionCount.objects.create(
        event=event, bucket=AT + timedelta(seconds=75), kind="unclear", taps=30, people=7
    )
    ReactionCount.objects.create(  # four people: withheld, and no total to subtract it from
        event=event, bucket=AT + timedelta(seconds=90), kind="agree", taps=4, people=4
    )
    recap = audience.audience_recap(event)
    by_turn = {w.label: {r.kind: r.taps for r in w.rows} for w in recap.reactions}
    assert by_turn == {
        "Opening FOR · Priya Raman": {"agree": 20, "unconvinced": 0, "unclear": 0},
        "Opening AGAINST": {"agree": None, "unconvinced": 0, "unclear": 30},
    }
    assert recap.reactions[0].start == opening.started_at
    for body in _pages(host_client, event).values():
        assert "Opening FOR · Priya Raman" in body and "The whole debate" not in body


def test_an_event_without_reactions_or_listed_questions_adds_nothing(host_client, event):
    recap = audience.audience_recap(event)
    assert not recap.shown
    for body in _pages(host_client, event).values():
        assert "How the room reacted" not in body


def test_taps_a_few_seconds_into_a_turn_count_for_that_turn(event):
    """A bucket counts in the turn its start falls in: with buckets of a few seconds, the taps of
    a turn's first moments are its own, not the turn before's (issue 15's per-turn totals)."""
    second_start = AT + timedelta(seconds=63)  # not on a bucket's edge
    for label, start, end in (
        ("First", AT, second_start),
        ("Second", second_start, AT + timedelta(minutes=3)),
    ):
        TurnRun.objects.create(
            event=event,
            label=label,
            side="for",
            planned_seconds=60,
            loaded_at=start,
            started_at=start,
            ended_at=end,
        )
    tally = Tally()
    people = [make_attendee(event, f"P{i}") for i in range(5)]
    # Five seconds in (19:01:08). With the 15-second buckets of before, that tap's bucket began
    # at 19:01:00, in the first turn, and was counted there.
    tap_at = second_start + timedelta(seconds=5)
    for person in people:
        assert tally.tap(event_id=event.pk, attendee_id=person.pk, kind="agree", at=tap_at)
    assert tally.flush() == 5
    by_turn = {
        w.label: {r.kind: r.taps for r in w.rows} for w in audience.audience_recap(event).reactions
    }
    assert by_turn == {
        "First": {"agree": 0, "unconvinced": 0, "unclear": 0},
        "Second": {"agree": 5, "unconvinced": 0, "unclear": 0},
    }
