"""The stage's models (issue 15): the speakers' clock as it ran, and what changed minds.

Part of the debates app's models (debates/models.py imports them at its end). Related models are
named by string, so this module imports no other models module (no import cycle)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class TurnRun(models.Model):
    """A speaker's turn on the clock (debates.services.clock): when it ran, how long it was
    meant to last, the time the host added. The event's clock is its run with no end.

    Label, side and speaker are copied from the planned turn (events.Turn) when it is loaded,
    so an edit of the running order afterwards leaves what happened as it happened.
    """

    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="turn_runs")
    turn = models.ForeignKey(
        "events.Turn", on_delete=models.SET_NULL, null=True, blank=True, related_name="runs"
    )
    label = models.CharField(max_length=120)
    side = models.CharField(max_length=10, blank=True)
    speaker = models.CharField(max_length=120, blank=True)
    planned_seconds = models.PositiveIntegerField()
    added_seconds = models.IntegerField(default=0)
    # Loaded (on the clock) at; first started at; ended at (None: the clock shows it).
    loaded_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Running since (None: paused or not started); seconds spoken before that.
    running_since = models.DateTimeField(null=True, blank=True)
    spoken_before = models.FloatField(default=0)

    class Meta:
        ordering = ["loaded_at", "id"]
        constraints = [
            # One clock per event: at most one run not ended.
            models.UniqueConstraint(
                fields=["event"],
                condition=Q(ended_at__isnull=True),
                name="debates_turnrun_one_clock_per_event",
            ),
        ]

    def __str__(self) -> str:
        return self.label


class MindChange(models.Model):
    """What an attendee who switched sides between the votes said moved them: a highlighted
    point, a speaker's turn, or nothing (they skipped). Asked once: one row per attendee."""

    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="mind_changes")
    attendee = models.OneToOneField("events.Attendee", on_delete=models.CASCADE, related_name="+")
    point = models.ForeignKey(
        "debates.Point", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    turn = models.ForeignKey(
        "events.Turn", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(point__isnull=True) | Q(turn__isnull=True),
                name="debates_mindchange_one_reason",
            ),
        ]
        indexes = [
            # The recap counts an event's answers per point and per turn.
            models.Index(fields=["event", "point"], name="debates_mindchange_point_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.attendee_id}: {self.point_id or self.turn_id or '-'}"
