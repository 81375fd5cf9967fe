"""Audience questions to the speakers: asking, upvoting, and their moderation (issue 15 §1).

Every change announces the "questions" live kind after commit (debates.realtime_audience reads
the board, coalesced); never a message per question per listener. Authors are kept only for the
rate limit and never shown: a question shows the name its author chose to give, or none.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from debates import live
from debates.models_audience import AudienceSettings, Question, QuestionStatus, QuestionUpvote
from events.models import Attendee, Event, Phase

QUESTION_MAX_LENGTH = 280
QUESTION_NAME_MAX_LENGTH = 40

QUESTION_EMPTY = _("Write your question first.")
QUESTION_TOO_LONG = _("Keep a question to 280 characters.")
QUESTION_NAME_TOO_LONG = _("Keep your name to 40 characters, or leave it empty to ask anonymously.")
QUESTION_TOO_FAST = _(
    "You have asked several questions in the last few minutes. Wait a moment, then ask again."
)
QUESTIONS_CLOSED = _("This debate is over: questions are closed.")
QUESTION_NOT_ATTENDEE = _("Join this event before you ask or upvote a question.")
QUESTION_NOT_ON_LIST = _("This question is no longer on the list.")
QUESTION_MERGE_INVALID = _("Merge a question into another question of this event that is shown.")
QUESTION_NOT_MERGED = _("This question is not merged.")
QUESTION_PIN_INVALID = _("Only a question that is shown can be pinned.")
QUESTION_APPROVE_INVALID = _("This question is merged: undo the merge to show it again.")

# Limits (security): an attendee asks at most QUESTION_RATE_LIMIT questions in any
# QUESTION_RATE_WINDOW. Counted from the questions themselves, so every process agrees.
QUESTION_RATE_LIMIT = 3
QUESTION_RATE_WINDOW = timedelta(minutes=2)

KIND = "questions"  # the live snapshot kind (debates.realtime_audience)


def announce(event_id: int) -> None:
    """The board changed: a coalesced snapshot goes out after commit."""
    transaction.on_commit(partial(live.changed, KIND, event_id))


def settings_of(event: Event | int) -> AudienceSettings:
    """The event's question settings (defaults when it has no row). One query."""
    event_id = event if isinstance(event, int) else event.pk
    found = AudienceSettings.objects.filter(pk=event_id).first()
    return found if found is not None else AudienceSettings(event_id=event_id)


def _clean_text(text: str) -> str:
    text = " ".join(str(text).split())
    if not text:
        raise ValidationError(QUESTION_EMPTY, code="question_empty")
    if len(text) > QUESTION_MAX_LENGTH:
        raise ValidationError(QUESTION_TOO_LONG, code="question_too_long")
    return text


def _clean_name(name: str) -> str:
    name = " ".join(str(name).split())
    if len(name) > QUESTION_NAME_MAX_LENGTH:
        raise ValidationError(QUESTION_NAME_TOO_LONG, code="question_name_too_long")
    return name


@transaction.atomic
def question_ask(*, event: Event, attendee: Attendee | None, text: str, name: str = "") -> Question:
    """An attendee asks the speakers a question, anonymously or under the name they give. With
    pre-moderation on, it waits for a moderator; otherwise it is on the list at once."""
    if attendee is None or attendee.event_id != event.pk:
        raise ValidationError(QUESTION_NOT_ATTENDEE, code="not_attendee")
    text = _clean_text(text)
    name = _clean_name(name)
    if event.phase == Phase.ENDED:
        raise ValidationError(QUESTIONS_CLOSED, code="questions_closed")
    # The attendee's row is the lock: two questions sent at once are counted one after the other.
    Attendee.objects.select_for_update().filter(pk=attendee.pk).first()
    since = timezone.now() - QUESTION_RATE_WINDOW
    if (
        Question.objects.filter(author=attendee, created_at__gte=since).count()
        >= QUESTION_RATE_LIMIT
    ):
        raise ValidationError(QUESTION_TOO_FAST, code="rate_limited")
    premoderated = settings_of(event).questions_premoderated
    question = Question.objects.create(
        event=event,
        text=text,
        name=name,
        author=attendee,
        status=QuestionStatus.PENDING if premoderated else QuestionStatus.VISIBLE,
    )
    announce(event.pk)
    return question


def _upvoters(question: Question) -> QuerySet[QuestionUpvote]:
    """Upvotes on a question and on the duplicates merged into it."""
    return QuestionUpvote.objects.filter(Q(question=question) | Q(question__merged_into=question))


def _recount(question: Question) -> None:
    # Distinct people: whoever upvoted both a question and its duplicate counts once.
    question.upvotes = _upvoters(question).values("attendee_id").distinct().count()
    question.save(update_fields=["upvotes"])


def _locked(question: Question) -> Question:
    return Question.objects.select_for_update().get(pk=question.pk)


@transaction.atomic
def question_upvote(*, question: Question, attendee: Attendee | None, up: bool = True) -> Question:
    """An attendee upvotes a question on the list (once), or takes their upvote back."""
    if attendee is None or attendee.event_id != question.event_id:
        raise ValidationError(QUESTION_NOT_ATTENDEE, code="not_attendee")
    # Locked: concurrent upvotes queue, so the recount sees every committed row.
    question = _locked(question)
    if question.status != QuestionStatus.VISIBLE:
        raise ValidationError(QUESTION_NOT_ON_LIST, code="question_not_on_list")
    if up:
        if _upvoters(question).filter(attendee=attendee).exists():
            return question  # one upvote each: a second tap changes nothing
        try:
            with transaction.atomic():
                QuestionUpvote.objects.create(question=question, attendee=attendee)
        except IntegrityError:
            return question
    else:
        deleted, _rows = _upvoters(question).filter(attendee=attendee).delete()
        if not deleted:
            return question
    _recount(question)
    announce(question.event_id)
    return question


@transaction.atomic
def question_approve(*, question: Question) -> Question:
    """A moderator puts a waiting (or hidden) question on the list."""
    question = _locked(question)
    if question.status == QuestionStatus.MERGED:
        raise ValidationError(QUESTION_APPROVE_INVALID, code="question_merged")
    if question.status != QuestionStatus.VISIBLE:
        question.status = QuestionStatus.VISIBLE
        question.save(update_fields=["status"])
        announce(question.event_id)
    return question


@transaction.atomic
def question_hide(*, question: Question) -> Question:
    """A moderator takes a question off the list (and off the projector)."""
    question = _locked(question)
    if question.status in (QuestionStatus.VISIBLE, QuestionStatus.PENDING):
        question.status = QuestionStatus.HIDDEN
        question.pinned = False
        question.save(update_fields=["status", "pinned"])
        announce(question.event_id)
    return question


@transaction.atomic
def question_merge(*, question: Question, into: Question) -> Question:
    """Folds a duplicate into another question: the duplicate leaves the list and its upvotes
    join the target's, counting each person once. Returns the target."""
    # Both rows locked in id order, so two merges of the same pair cannot deadlock.
    locked = {
        q.pk: q
        for q in Question.objects.select_for_update()
        .filter(pk__in=[question.pk, into.pk])
        .order_by("pk")
    }
    question, into = locked.get(question.pk), locked.get(into.pk)
    if (
        question is None
        or into is None
        or question.pk == into.pk
        or question.event_id != into.event_id
        or question.status == QuestionStatus.MERGED
        or into.status != QuestionStatus.VISIBLE
    ):
        raise ValidationError(QUESTION_MERGE_INVALID, code="question_merge_invalid")
    # One level only: what was merged into the duplicate now points at the target.
    Question.objects.filter(merged_into=question).update(merged_into=into)
    question.status = QuestionStatus.MERGED
    question.merged_into = into
    question.pinned = False
    question.save(update_fields=["status", "merged_into", "pinned"])
    _recount(into)
    announce(into.event_id)
    return into


@transaction.atomic
def question_unmerge(*, question: Question) -> Question:
    """Undoes a merge: the question is on the list again and the target's count drops back."""
    question = _locked(question)
    if question.status != QuestionStatus.MERGED or question.merged_into_id is None:
        raise ValidationError(QUESTION_NOT_MERGED, code="question_not_merged")
    target = _locked(question.merged_into)
    question.status = QuestionStatus.VISIBLE
    question.merged_into = None
    question.save(update_fields=["status", "merged_into"])
    _recount(target)
    _recount(question)
    announce(question.event_id)
    return question


@transaction.atomic
def question_answer(*, question: Question, answered: bool = True) -> Question:
    """Marks a question answered (it leaves the projector) or not answered again."""
    question = _locked(question)
    if answered and question.status != QuestionStatus.VISIBLE:
        raise ValidationError(QUESTION_NOT_ON_LIST, code="question_not_on_list")
    if question.is_answered != answered:
        question.answered_at = timezone.now() if answered else None
        question.pinned = question.pinned and not answered
        question.save(update_fields=["answered_at", "pinned"])
        announce(question.event_id)
    return question


def _event_lock(event_id: int) -> None:
    """The event's settings row, made if missing, locked: pins of one event queue on it."""
    AudienceSettings.objects.get_or_create(pk=event_id)
    AudienceSettings.objects.select_for_update().filter(pk=event_id).first()


@transaction.atomic
def question_pin(*, question: Question) -> Question:
    """Pins a question to the projector, in place of the one pinned before."""
    _event_lock(question.event_id)
    question = _locked(question)
    if question.status != QuestionStatus.VISIBLE:
        raise ValidationError(QUESTION_PIN_INVALID, code="question_pin_invalid")
    if not question.pinned:
        Question.objects.filter(event_id=question.event_id, pinned=True).update(pinned=False)
        question.pinned = True
        question.save(update_fields=["pinned"])
        announce(question.event_id)
    return question


@transaction.atomic
def question_unpin(*, event: Event) -> None:
    """Takes the pinned question, if any, off the projector."""
    _event_lock(event.pk)
    if Question.objects.filter(event=event, pinned=True).update(pinned=False):
        announce(event.pk)


@transaction.atomic
def questions_settings_set(
    *, event: Event, premoderated: bool, answered_in_recap: bool
) -> AudienceSettings:
    """The host's choices: whether questions wait for a moderator, and whether the recap
    lists the answered ones. Turning pre-moderation off leaves waiting questions waiting."""
    _event_lock(event.pk)
    settings = AudienceSettings.objects.get(pk=event.pk)
    settings.questions_premoderated = premoderated
    settings.answered_in_recap = answered_in_recap
    settings.save(update_fields=["questions_premoderated", "answered_in_recap"])
    announce(event.pk)
    return settings
