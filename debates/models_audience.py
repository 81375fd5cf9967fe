"""The audience's voice beyond votes (issue 15): questions to the speakers, their upvotes, the
event's question settings, and reaction taps summed per time bucket.

Imported at the end of debates.models, so Django and the migrations see these models as the
debates app's.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from events.models import Attendee, Event


class QuestionStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for a moderator")
    VISIBLE = "visible", _("Shown")
    HIDDEN = "hidden", _("Hidden by a moderator")
    MERGED = "merged", _("Merged into another question")


class Question(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="questions")
    text = models.CharField(_("question"), max_length=400)
    # The name the author chose to give; blank means anonymous. The author (below) is never
    # shown to anyone, hosts included: it only serves the rate limit and "your question".
    name = models.CharField(_("asked by"), max_length=60, blank=True)
    author = models.ForeignKey(
        Attendee, on_delete=models.SET_NULL, null=True, blank=True, related_name="questions"
    )
    status = models.CharField(max_length=8, choices=QuestionStatus, default=QuestionStatus.VISIBLE)
    merged_into = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="merged_questions"
    )
    # Denormalised count of distinct upvoters (its own and its merged duplicates'), kept by
    # debates.services.questions.
    upvotes = models.PositiveIntegerField(default=0)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    pinned = models.BooleanField(_("pinned to the projector"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["-upvotes", "created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=QuestionStatus.values), name="debates_question_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=QuestionStatus.MERGED) | Q(merged_into__isnull=False),
                name="debates_question_merged_has_target",
            ),
            models.CheckConstraint(
                condition=Q(pinned=False) | Q(status=QuestionStatus.VISIBLE),
                name="debates_question_pinned_is_visible",
            ),
            models.UniqueConstraint(
                fields=["event"],
                condition=Q(pinned=True),
                name="debates_question_one_pinned_per_event",
            ),
        ]
        indexes = [
            # The live board: an event's questions by status (then sorted in memory, capped).
            models.Index(fields=["event", "status"], name="debates_question_board_idx"),
            # The rate limit: an attendee's questions in the last minutes.
            models.Index(fields=["author", "created_at"], name="debates_question_author_idx"),
        ]

    def __str__(self) -> str:
        return self.text[:60]

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None


class QuestionUpvote(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="upvote_rows")
    attendee = models.ForeignKey(
        Attendee, on_delete=models.CASCADE, related_name="question_upvotes"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["question", "attendee"], name="debates_questionupvote_one_per_attendee"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.attendee_id} +1 {self.question_id}"


class AudienceSettings(models.Model):
    """An event's choices about questions. No row: the defaults. Its row is also the lock that
    orders an event's pinning (debates.services.questions)."""

    event = models.OneToOneField(
        Event, on_delete=models.CASCADE, related_name="audience_settings", primary_key=True
    )
    questions_premoderated = models.BooleanField(
        _("a moderator approves each question before it is shown"), default=False
    )
    answered_in_recap = models.BooleanField(
        _("the recap lists the answered questions"), default=False
    )

    class Meta:
        verbose_name = _("audience settings")
        verbose_name_plural = _("audience settings")

    def __str__(self) -> str:
        return f"{self.event_id}: questions"


class ReactionKind(models.TextChoices):
    AGREE = "agree", _("Agree")
    UNCONVINCED = "unconvinced", _("Unconvinced")
    UNCLEAR = "unclear", _("Unclear")


class ReactionCount(models.Model):
    """Reaction taps of one kind in one time bucket of an event (debates.reaction_tally writes
    them, summed in memory, every couple of seconds; several processes add to the same row)."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="reaction_counts")
    # The start of the bucket (debates.services.reactions.BUCKET_SECONDS long).
    bucket = models.DateTimeField()
    kind = models.CharField(max_length=12, choices=ReactionKind)
    taps = models.PositiveIntegerField(default=0)
    # Distinct attendees who tapped this kind in this bucket, as each process counted them (an
    # attendee with sockets on two processes counts twice): the recap's small-group rule.
    people = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("reaction count")
        verbose_name_plural = _("reaction counts")
        constraints = [
            # Also the index of the meter's and the recap's reads: an event's buckets in time.
            models.UniqueConstraint(
                fields=["event", "bucket", "kind"], name="debates_reactioncount_one_per_bucket"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=ReactionKind.values), name="debates_reactioncount_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} {self.bucket:%H:%M:%S} {self.kind}: {self.taps}"
