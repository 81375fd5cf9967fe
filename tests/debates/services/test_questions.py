"""Audience questions: asking (named or anonymous), the limits and their messages, upvotes, and
the moderator's tools (pre-moderation, approve, hide, merge, answer, pin)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from debates import live, selectors_audience
from debates.models_audience import Question, QuestionStatus, QuestionUpvote
from debates.services import questions
from events.models import Phase
from tests.conftest import make_attendee

pytestmark = pytest.mark.django_db


@pytest.fixture
def changed(monkeypatch) -> list[tuple[str, int]]:
    """The live kinds a service marked changed (after commit)."""
    calls: list[tuple[str, int]] = []
    monkeypatch.setattr(live, "changed", lambda kind, event_id: calls.append((kind, event_id)))
    return calls


def ask(event, who, text="Why a week and not a day?", name=""):
    return questions.question_ask(event=event, attendee=who, text=text, name=name)


def test_an_attendee_asks_anonymously_and_the_board_is_announced_after_commit(
    event, attendee, changed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        question = ask(event, attendee, text="  Why   a week\n and not a day? ")
    assert (question.text, question.name, question.status) == (
        "Why a week and not a day?",
        "",
        QuestionStatus.VISIBLE,
    )
    assert changed == [("questions", event.pk)]


def test_a_name_is_kept_only_when_the_author_gives_one(event, attendee):
    named = ask(event, attendee, name="  Ada  L. ")
    anonymous = ask(event, attendee, text="Another one?")
    assert named.name == "Ada L."
    assert anonymous.name == ""  # not the attendee's display name: they chose no name


@pytest.mark.parametrize(
    ("text", "name", "reason"),
    [
        ("   ", "", questions.QUESTION_EMPTY),
        ("x" * 281, "", questions.QUESTION_TOO_LONG),
        ("Fine?", "n" * 41, questions.QUESTION_NAME_TOO_LONG),
    ],
)
def test_bad_questions_are_refused_with_a_clear_message(event, attendee, text, name, reason):
    with pytest.raises(ValidationError) as refused:
        ask(event, attendee, text=text, name=name)
    assert refused.value.messages == [str(reason)]
    assert not Question.objects.exists()


def test_a_question_of_280_characters_is_accepted(event, attendee):
    assert len(ask(event, attendee, text="y" * 280).text) == 280


def test_the_rate_limit_refuses_a_fourth_question_within_two_minutes(event, attendee):
    for n in range(questions.QUESTION_RATE_LIMIT):
        ask(event, attendee, text=f"Question {n}?")
    with pytest.raises(ValidationError) as refused:
        ask(event, attendee, text="One too many?")
    assert refused.value.messages == [str(questions.QUESTION_TOO_FAST)]
    # Someone else is not slowed down by Ada's questions.
    ask(event, make_attendee(event, "Bo"), text="Mine?")


def test_an_attendee_of_another_event_or_nobody_cannot_ask(event, other_event):
    stranger = make_attendee(other_event, "Otto")
    for who in (stranger, None):
        with pytest.raises(ValidationError) as refused:
            ask(event, who)
        assert refused.value.messages == [str(questions.QUESTION_NOT_ATTENDEE)]


def test_questions_close_when_the_debate_has_ended(event, attendee):
    event.phase = Phase.ENDED
    event.save(update_fields=["phase"])
    with pytest.raises(ValidationError) as refused:
        ask(event, attendee)
    assert refused.value.messages == [str(questions.QUESTIONS_CLOSED)]


def test_with_pre_moderation_a_question_waits_until_a_moderator_approves_it(event, attendee):
    questions.questions_settings_set(event=event, premoderated=True, answered_in_recap=False)
    question = ask(event, attendee)
    assert question.status == QuestionStatus.PENDING
    assert selectors_audience.question_board(event_id=event.pk).shown == []
    with pytest.raises(ValidationError):
        questions.question_upvote(question=question, attendee=make_attendee(event, "Bo"))

    questions.question_approve(question=question)
    assert [q.pk for q in selectors_audience.question_board(event_id=event.pk).shown] == [
        question.pk
    ]


def test_an_upvote_counts_once_and_can_be_taken_back(event, attendee, changed):
    question = ask(event, attendee)
    bo = make_attendee(event, "Bo")
    questions.question_upvote(question=question, attendee=bo)
    questions.question_upvote(question=question, attendee=bo)  # a second tap changes nothing
    question.refresh_from_db()
    assert question.upvotes == 1

    questions.question_upvote(question=question, attendee=bo, up=False)
    question.refresh_from_db()
    assert question.upvotes == 0
    assert not QuestionUpvote.objects.exists()


def test_the_database_holds_one_upvote_per_attendee_per_question(event, attendee):
    question = ask(event, attendee)
    QuestionUpvote.objects.create(question=question, attendee=attendee)
    with pytest.raises(IntegrityError), transaction.atomic():
        QuestionUpvote.objects.create(question=question, attendee=attendee)


def test_an_attendee_of_another_event_cannot_upvote(event, attendee, other_event):
    question = ask(event, attendee)
    with pytest.raises(ValidationError) as refused:
        questions.question_upvote(question=question, attendee=make_attendee(other_event))
    assert refused.value.messages == [str(questions.QUESTION_NOT_ATTENDEE)]


def test_a_hidden_question_leaves_the_list_and_the_projector(event, attendee):
    question = ask(event, attendee)
    questions.question_pin(question=question)
    questions.question_hide(question=question)
    question.refresh_from_db()
    assert (question.status, question.pinned) == (QuestionStatus.HIDDEN, False)
    board = selectors_audience.question_board(event_id=event.pk)
    assert board.shown == [] and board.pinned is None
    with pytest.raises(ValidationError) as refused:
        questions.question_upvote(question=question, attendee=attendee)
    assert refused.value.messages == [str(questions.QUESTION_NOT_ON_LIST)]


def test_one_question_is_pinned_at_a_time(event, attendee):
    first, second = ask(event, attendee), ask(event, attendee, text="Second?")
    questions.question_pin(question=first)
    questions.question_pin(question=second)
    assert list(Question.objects.filter(pinned=True)) == [second]
    assert selectors_audience.question_board(event_id=event.pk).pinned == second
    questions.question_unpin(event=event)
    assert not Question.objects.filter(pinned=True).exists()


def test_the_database_refuses_two_pinned_questions_in_one_event(event, attendee):
    first, second = ask(event, attendee), ask(event, attendee, text="Second?")
    Question.objects.filter(pk=first.pk).update(pinned=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        Question.objects.filter(pk=second.pk).update(pinned=True)


def test_a_waiting_question_cannot_be_pinned(event, attendee):
    questions.questions_settings_set(event=event, premoderated=True, answered_in_recap=False)
    with pytest.raises(ValidationError) as refused:
        questions.question_pin(question=ask(event, attendee))
    assert refused.value.messages == [str(questions.QUESTION_PIN_INVALID)]


def test_marking_a_question_answered_takes_it_off_the_projector(event, attendee):
    question = ask(event, attendee)
    questions.question_pin(question=question)
    questions.question_answer(question=question)
    question.refresh_from_db()
    assert question.is_answered and not question.pinned
    questions.question_answer(question=question, answered=False)
    question.refresh_from_db()
    assert not question.is_answered


def test_merging_folds_the_upvotes_counting_each_person_once(event, attendee):
    original, duplicate = ask(event, attendee), ask(event, attendee, text="Why so long?")
    bo, cy = make_attendee(event, "Bo"), make_attendee(event, "Cy")
    questions.question_upvote(question=original, attendee=bo)
    questions.question_upvote(question=duplicate, attendee=bo)
    questions.question_upvote(question=duplicate, attendee=cy)

    into = questions.question_merge(question=duplicate, into=original)
    duplicate.refresh_from_db()
    assert (into.upvotes, duplicate.status) == (2, QuestionStatus.MERGED)
    assert [q.pk for q in selectors_audience.question_board(event_id=event.pk).shown] == [
        original.pk
    ]

    questions.question_unmerge(question=duplicate)
    original.refresh_from_db()
    duplicate.refresh_from_db()
    assert (original.upvotes, duplicate.upvotes, duplicate.status) == (
        1,
        2,
        QuestionStatus.VISIBLE,
    )


def test_a_question_cannot_be_merged_into_itself_or_another_events(event, other_event, attendee):
    question = ask(event, attendee)
    elsewhere = ask(other_event, make_attendee(other_event))
    for into in (question, elsewhere):
        with pytest.raises(ValidationError) as refused:
            questions.question_merge(question=question, into=into)
        assert refused.value.messages == [str(questions.QUESTION_MERGE_INVALID)]


def test_the_board_is_capped_and_keeps_the_top_and_the_newest(event, monkeypatch):
    monkeypatch.setattr(selectors_audience, "HALF", 2)
    people = [make_attendee(event, f"P{i}") for i in range(6)]
    asked = [ask(event, who, text=f"Q{i}?") for i, who in enumerate(people)]
    questions.question_upvote(question=asked[0], attendee=people[1])
    questions.question_upvote(question=asked[1], attendee=people[2])
    board = selectors_audience.question_board(event_id=event.pk)
    assert {q.text for q in board.shown} == {"Q0?", "Q1?", "Q4?", "Q5?"}
    assert board.more == 2
