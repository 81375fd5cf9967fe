"""Host actions on the audience's questions (issue 15), registered into the one registry
(debates.host_actions.HOST_ACTIONS) from DebatesConfig.ready: the console's POST
(console_command) and the socket's host.command run them alike, with the same refusals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from debates.host_actions import HOST_ACTIONS, NOT_IN_EVENT, HostAction
from debates.models_audience import Question
from debates.services import questions
from events.models import Event

PANEL = "questions"


class QuestionScopedForm(forms.Form):
    """An id field names a question of this event only (another event's is "not found")."""

    question = forms.ModelChoiceField(
        queryset=Question.objects.none(), error_messages={"invalid_choice": NOT_IN_EVENT}
    )

    def __init__(self, data: Mapping[str, Any], *, event: Event) -> None:
        super().__init__(data)
        self.event = event
        for field in self.fields.values():
            if isinstance(field, forms.ModelChoiceField):
                field.queryset = Question.objects.filter(event=event)


class QuestionMergeForm(QuestionScopedForm):
    into = forms.ModelChoiceField(
        queryset=Question.objects.none(), error_messages={"invalid_choice": NOT_IN_EVENT}
    )


class QuestionsUnpinForm(forms.Form):
    def __init__(self, data: Mapping[str, Any], *, event: Event) -> None:
        super().__init__(data)


class QuestionsSettingsForm(forms.Form):
    # Checkboxes: absent means off (an HTML form sends nothing for an unticked box).
    premoderated = forms.BooleanField(
        label=_("A moderator approves each question before it is shown"), required=False
    )
    answered_in_recap = forms.BooleanField(
        label=_("The recap lists the answered questions"), required=False
    )

    def __init__(self, data: Mapping[str, Any] | None, *, event: Event, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)


ACTIONS: dict[str, HostAction] = {
    "question.approve": HostAction(
        QuestionScopedForm, lambda e, d: questions.question_approve(question=d["question"]), PANEL
    ),
    "question.hide": HostAction(
        QuestionScopedForm, lambda e, d: questions.question_hide(question=d["question"]), PANEL
    ),
    "question.merge": HostAction(
        QuestionMergeForm,
        lambda e, d: questions.question_merge(question=d["question"], into=d["into"]),
        PANEL,
    ),
    "question.unmerge": HostAction(
        QuestionScopedForm, lambda e, d: questions.question_unmerge(question=d["question"]), PANEL
    ),
    "question.answer": HostAction(
        QuestionScopedForm, lambda e, d: questions.question_answer(question=d["question"]), PANEL
    ),
    "question.unanswer": HostAction(
        QuestionScopedForm,
        lambda e, d: questions.question_answer(question=d["question"], answered=False),
        PANEL,
    ),
    "question.pin": HostAction(
        QuestionScopedForm, lambda e, d: questions.question_pin(question=d["question"]), PANEL
    ),
    "question.unpin": HostAction(
        QuestionsUnpinForm, lambda e, d: questions.question_unpin(event=e), PANEL
    ),
    "questions.settings": HostAction(
        QuestionsSettingsForm,
        lambda e, d: questions.questions_settings_set(
            event=e, premoderated=d["premoderated"], answered_in_recap=d["answered_in_recap"]
        ),
        PANEL,
    ),
}


def register() -> None:
    """Adds these actions to the registry (DebatesConfig.ready; idempotent)."""
    HOST_ACTIONS.update(ACTIONS)
