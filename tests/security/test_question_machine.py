"""The question board against a plain model: whatever order attendees ask, upvote and take
upvotes back, and hosts approve, hide, merge, unmerge, answer and pin (through the one registry
of host actions, as both transports do), each question's upvotes are its distinct upvoters,
at most one question is pinned and it is shown, and the public board holds shown ones only."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from debates import host_actions, selectors_audience
from debates.models_audience import Question, QuestionStatus
from debates.services import questions, set_aside
from events.models import Event
from events.services import event_create
from tests.conftest import make_attendee

HOST = set_aside.Actor(user_id=None, label="host link")
COMMANDS = (
    "question.approve",
    "question.hide",
    "question.unmerge",
    "question.answer",
    "question.unanswer",
    "question.pin",
)


class QuestionMachine(RuleBasedStateMachine):
    organiser = None  # set by the test

    asked = Bundle("asked")

    @initialize(premoderated=st.booleans())
    def start(self, premoderated: bool) -> None:
        self.event = event_create(
            organiser=self.organiser,
            title="Question machine",
            motion="Questions keep speakers honest.",
            starts_at=timezone.now() + timedelta(hours=1),
        )
        questions.questions_settings_set(
            event=self.event, premoderated=premoderated, answered_in_recap=False
        )
        self.people = [make_attendee(self.event, f"P{i}") for i in range(4)]
        self.upvoters: dict[int, set[int]] = {}  # question id -> attendee ids (its own rows)

    @rule(target=asked, who=st.integers(0, 3), name=st.sampled_from(["", "Ada"]))
    def ask(self, who: int, name: str) -> int:
        try:
            question = questions.question_ask(
                event=self.event, attendee=self.people[who], text="Why?", name=name
            )
        except ValidationError:  # the rate limit: part of the game
            return 0
        self.upvoters[question.pk] = set()
        return question.pk

    @rule(question_id=asked, who=st.integers(0, 3), up=st.booleans())
    def upvote(self, question_id: int, who: int, up: bool) -> None:
        question = Question.objects.filter(pk=question_id).first()
        if question is None:
            return
        try:
            questions.question_upvote(question=question, attendee=self.people[who], up=up)
        except ValidationError:
            assert question.status != QuestionStatus.VISIBLE
            return
        attendee = self.people[who].pk
        duplicates = list(
            Question.objects.filter(merged_into=question).values_list("pk", flat=True)
        )
        if up:
            # One upvote each: one on a merged duplicate already counts for this question.
            if not any(attendee in self.upvoters.get(d, set()) for d in duplicates):
                self.upvoters[question_id].add(attendee)
        else:  # taken back from the question and from its duplicates
            for held in (question_id, *duplicates):
                self.upvoters.get(held, set()).discard(attendee)

    @rule(question_id=asked, command=st.sampled_from(COMMANDS))
    def moderate(self, question_id: int, command: str) -> None:
        if not question_id:
            return
        with contextlib.suppress(host_actions.HostActionRefused):
            host_actions.host_action_run(
                event=self.event, name=command, data={"question": str(question_id)}, actor=HOST
            )

    @rule(question_id=asked, into=asked)
    def merge(self, question_id: int, into: int) -> None:
        if not (question_id and into):
            return
        data = {"question": str(question_id), "into": str(into)}
        with contextlib.suppress(host_actions.HostActionRefused):
            host_actions.host_action_run(
                event=self.event, name="question.merge", data=data, actor=HOST
            )

    @invariant()
    def upvotes_are_distinct_upvoters_and_one_shown_question_is_pinned(self) -> None:
        if not hasattr(self, "event"):
            return
        board = Question.objects.filter(event=self.event)
        for question in board:
            if question.status == QuestionStatus.MERGED:
                continue
            people = set(self.upvoters.get(question.pk, set()))
            for duplicate in board.filter(merged_into=question):
                people |= self.upvoters.get(duplicate.pk, set())
            assert question.upvotes == len(people), question
        pinned = list(board.filter(pinned=True))
        assert len(pinned) <= 1
        assert all(q.status == QuestionStatus.VISIBLE for q in pinned)
        public = selectors_audience.question_board(event_id=self.event.pk)
        assert all(q.status == QuestionStatus.VISIBLE for q in public.shown)


@pytest.mark.slow
@pytest.mark.django_db
def test_the_question_board_always_equals_a_plain_model(organiser, monkeypatch):
    monkeypatch.setattr(questions, "QUESTION_RATE_LIMIT", 50)
    QuestionMachine.organiser = organiser
    run_state_machine_as_test(
        QuestionMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    assert Event.objects.filter(title="Question machine").exists()
