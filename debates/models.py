"""The live debate: polls and votes, breakout rooms, points and takeaways."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from events.models import Attendee, Event, Side, Theme

ARGUING_SIDES = [Side.FOR, Side.AGAINST]
# The smallest group whose votes anything may show (the small-group rules, recaps.disclosure).
# Defined here, with the votes, because the console's room balance (debates.room_mix) follows it
# too and the debate must not import the recap.
MIN_GROUP = 5


class PollKind(models.TextChoices):
    PRE_VOTE = "pre_vote", _("Pre-vote")
    FINAL_VOTE = "final_vote", _("Final vote")
    AD_HOC = "ad_hoc", _("Ad hoc poll")


class PollState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class ResultsVisibility(models.TextChoices):
    LIVE = "live", _("Live, while voting")
    AFTER_CLOSE = "after_close", _("Only after the poll closes")
    # The final vote only: hidden from the room until the host presses Reveal (debates.reveal).
    AFTER_REVEAL = "after_reveal", _("Only at the reveal")


class Poll(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="polls")
    kind = models.CharField(_("kind"), max_length=12, choices=PollKind)
    question = models.CharField(
        _("question"), max_length=300, blank=True, help_text=_("Blank: the event's motion.")
    )
    state = models.CharField(_("state"), max_length=8, choices=PollState, default=PollState.DRAFT)
    results_visibility = models.CharField(
        _("attendees see results"),
        max_length=12,
        choices=ResultsVisibility,
        default=ResultsVisibility.LIVE,
    )
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # The final vote's result shown to the whole room (debates.services.reveal); cleared when
    # the poll reopens.
    revealed_at = models.DateTimeField(_("revealed at"), null=True, blank=True)
    # Bumped in the transaction of every change a tally snapshot shows (votes, open, close);
    # clients keep the highest version they have seen. See debates.live.
    version = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("poll")
        verbose_name_plural = _("polls")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "kind"],
                condition=Q(kind__in=[PollKind.PRE_VOTE, PollKind.FINAL_VOTE]),
                name="debates_poll_one_pre_and_final_vote_per_event",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=PollKind.values), name="debates_poll_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(state__in=PollState.values), name="debates_poll_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(results_visibility__in=ResultsVisibility.values),
                name="debates_poll_results_visibility_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event}: {self.get_kind_display()}"

    @property
    def text(self) -> str:
        """The question put to the audience. Reads self.event: select_related it."""
        return self.question or self.event.motion

    @property
    def is_open(self) -> bool:
        return self.state == PollState.OPEN


class Vote(models.Model):
    """An attendee's current choice in a poll; history is in VoteLog."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="votes")
    attendee = models.ForeignKey(Attendee, on_delete=models.CASCADE, related_name="votes")
    side = models.CharField(_("side"), max_length=10, choices=Side)
    cast_at = models.DateTimeField(_("first cast at"), default=timezone.now)
    updated_at = models.DateTimeField(_("last changed at"), default=timezone.now)
    # False while the voter is set aside by a host (SetAside): the vote is kept, but no tally,
    # summary, recap or export counts it. Denormalised from Attendee.set_aside so a tally stays
    # an index-only count.
    counted = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("vote")
        verbose_name_plural = _("votes")
        constraints = [
            models.UniqueConstraint(
                fields=["poll", "attendee"], name="debates_vote_one_per_attendee_per_poll"
            ),
            models.CheckConstraint(
                condition=Q(side__in=Side.values), name="debates_vote_side_valid"
            ),
        ]
        indexes = [
            # The tally: count of counted votes per side in one poll.
            models.Index(fields=["poll", "counted", "side"], name="debates_vote_tally_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.attendee_id} → {self.side}"


class VoteLog(models.Model):
    """Append-only: every cast and every change, for the timeline chart and audit."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="log")
    attendee = models.ForeignKey(Attendee, on_delete=models.CASCADE, related_name="vote_log")
    side = models.CharField(max_length=10, choices=Side)
    previous_side = models.CharField(max_length=10, choices=Side, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("vote log entry")
        verbose_name_plural = _("vote log")
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(side__in=Side.values), name="debates_votelog_side_valid"
            ),
            models.CheckConstraint(
                condition=Q(previous_side__in=["", *Side.values]),
                name="debates_votelog_previous_side_valid",
            ),
        ]
        indexes = [
            # The summary's "tally over time" chart replays one poll's log in order.
            models.Index(fields=["poll", "at"], name="debates_votelog_timeline_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.attendee_id}: {self.previous_side or '-'} → {self.side}"


class SetAside(models.Model):
    """A group of attendees a host set aside (a burst of joins, instant voters): their votes
    stop counting everywhere until it is undone. The log of who did it, when, and how many."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="set_asides")
    # What the door panel called the group, e.g. "38 joins from one network at 19:02".
    label = models.CharField(_("group"), max_length=200)
    attendees = models.ManyToManyField(Attendee, through="SetAsideMember", related_name="+")
    votes = models.PositiveIntegerField(_("votes set aside"), default=0)
    created_at = models.DateTimeField(_("set aside at"), default=timezone.now)
    # Who: an account, or "host link" for a browser that came in through the secret link.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by_label = models.CharField(_("set aside by"), max_length=150)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by_label = models.CharField(_("undone by"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("set-aside group")
        verbose_name_plural = _("set-aside groups")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.label

    @property
    def is_active(self) -> bool:
        return self.undone_at is None


class SetAsideMember(models.Model):
    set_aside = models.ForeignKey(SetAside, on_delete=models.CASCADE, related_name="members")
    attendee = models.ForeignKey(Attendee, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["set_aside", "attendee"], name="debates_setasidemember_once_per_group"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.attendee_id} in {self.set_aside_id}"


class AssignmentMode(models.TextChoices):
    BALANCED = "balanced", _("Mixed by pre-vote side")
    RANDOM = "random", _("At random")
    CHOICE = "choice", _("Attendees choose")


class BreakoutRound(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="breakout_rounds")
    number = models.PositiveSmallIntegerField(_("round"))
    assignment = models.CharField(
        _("assignment"), max_length=10, choices=AssignmentMode, default=AssignmentMode.BALANCED
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    # The countdown every room shows.
    ends_at = models.DateTimeField(_("due to end at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    message = models.CharField(_("message to all rooms"), max_length=280, blank=True)
    message_at = models.DateTimeField(null=True, blank=True)
    # The host asked for rooms mixed by pre-vote side, but too few had pre-voted to mix by:
    # the rooms were filled at random instead, and the console says so (debates.services.rounds).
    mixed_at_random = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("breakout round")
        verbose_name_plural = _("breakout rounds")
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "number"], name="debates_breakoutround_one_number_per_event"
            ),
            models.CheckConstraint(
                condition=Q(assignment__in=AssignmentMode.values),
                name="debates_breakoutround_assignment_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event}: round {self.number}"

    @property
    def is_running(self) -> bool:
        return self.started_at is not None and self.ended_at is None


class BreakoutRoom(models.Model):
    round = models.ForeignKey(BreakoutRound, on_delete=models.CASCADE, related_name="rooms")
    name = models.CharField(_("name"), max_length=60)
    position = models.PositiveSmallIntegerField(default=0)
    video_url = models.URLField(_("video-call link"), blank=True)
    location = models.CharField(_("table or place"), max_length=100, blank=True)
    # The room's balance when the round started: "mixed", "one_sided", or "" for a room too
    # small to say without revealing votes. Frozen at the start, so moving one person never
    # changes it (a live badge would tell the host that person's pre-vote).
    mix_at_start = models.CharField(max_length=10, blank=True)
    members = models.ManyToManyField(Attendee, through="RoomMember", related_name="breakout_rooms")

    class Meta:
        verbose_name = _("breakout room")
        verbose_name_plural = _("breakout rooms")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "name"], name="debates_breakoutroom_one_name_per_round"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RoomMember(models.Model):
    room = models.ForeignKey(BreakoutRoom, on_delete=models.CASCADE, related_name="memberships")
    attendee = models.ForeignKey(Attendee, on_delete=models.CASCADE, related_name="memberships")
    # Denormalised from room so the database can hold "one room per attendee per round".
    round = models.ForeignKey(BreakoutRound, on_delete=models.CASCADE, related_name="memberships")
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("room member")
        verbose_name_plural = _("room members")
        constraints = [
            models.UniqueConstraint(
                fields=["round", "attendee"], name="debates_roommember_one_room_per_round"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.attendee_id} in {self.room_id}"


class PointStatus(models.TextChoices):
    VISIBLE = "visible", _("Visible")
    HIDDEN = "hidden", _("Hidden by a moderator")
    MERGED = "merged", _("Merged into another point")


class Point(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="points")
    room = models.ForeignKey(
        BreakoutRoom, on_delete=models.SET_NULL, null=True, blank=True, related_name="points"
    )
    # RESTRICT: a theme with points cannot be deleted alone, but deleting the event takes both.
    theme = models.ForeignKey(Theme, on_delete=models.RESTRICT, related_name="points")
    side = models.CharField(_("side"), max_length=10, choices=[(s, s.label) for s in ARGUING_SIDES])
    text = models.CharField(_("point"), max_length=400)
    author = models.ForeignKey(
        Attendee, on_delete=models.SET_NULL, null=True, blank=True, related_name="points"
    )
    # Denormalised count of PointUpvote rows, kept by debates.services.
    upvotes = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=8, choices=PointStatus, default=PointStatus.VISIBLE)
    merged_into = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="merged_points"
    )
    highlighted = models.BooleanField(_("highlighted for the recap"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("point")
        verbose_name_plural = _("points")
        ordering = ["-highlighted", "-upvotes", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(side__in=ARGUING_SIDES), name="debates_point_side_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=PointStatus.values), name="debates_point_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=PointStatus.MERGED) | Q(merged_into__isnull=False),
                name="debates_point_merged_has_target",
            ),
        ]
        indexes = [
            # A room's live board.
            models.Index(fields=["room", "created_at"], name="debates_point_room_idx"),
            # The plenary and the recap: an event's points by theme and side.
            models.Index(fields=["event", "theme", "side"], name="debates_point_recap_idx"),
        ]

    def __str__(self) -> str:
        return self.text[:60]


class PointUpvote(models.Model):
    point = models.ForeignKey(Point, on_delete=models.CASCADE, related_name="upvote_rows")
    attendee = models.ForeignKey(Attendee, on_delete=models.CASCADE, related_name="upvotes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["point", "attendee"], name="debates_pointupvote_one_per_attendee"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.attendee_id} +1 {self.point_id}"


class Takeaway(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="takeaways")
    title = models.CharField(_("headline"), max_length=200)
    text = models.TextField(_("text"), blank=True, max_length=2000)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("takeaway")
        verbose_name_plural = _("takeaways")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title


class Rehearsal(models.Model):
    """A host's rehearsal of a draft event: simulated people join, vote and add points at a
    pace the host chose (debates.crowd), through the real services, until the host stops it or
    its time is up. The reset (debates.services.rehearsal) takes the event back to its draft
    state; this row stays as the log that it happened."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="rehearsals")
    people = models.PositiveSmallIntegerField(_("simulated people"))
    minutes = models.PositiveSmallIntegerField(_("minutes"))
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    ends_at = models.DateTimeField(_("due to end at"))
    # The simulation's last step: how long since people last acted (debates.crowd).
    stepped_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(_("stopped at"), null=True, blank=True)
    reset_at = models.DateTimeField(_("reset at"), null=True, blank=True)

    class Meta:
        verbose_name = _("rehearsal")
        verbose_name_plural = _("rehearsals")
        ordering = ["-started_at", "-id"]
        constraints = [
            # One rehearsal at a time: the next starts once the last is reset.
            models.UniqueConstraint(
                fields=["event"],
                condition=Q(reset_at__isnull=True),
                name="debates_rehearsal_one_open_per_event",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("started_at")),
                name="debates_rehearsal_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event}: rehearsal of {self.people}"

    @property
    def is_running(self) -> bool:
        return self.stopped_at is None and self.reset_at is None and timezone.now() < self.ends_at


# The speakers' clock and "what changed my mind" (issue 15), in a module of their own so that
# this one stays under 500 lines; imported here so Django finds them as debates' models.
# The audience's questions and reactions live in their own module (issue 15); importing them
# here makes them the debates app's models.
from debates.models_audience import (  # noqa: E402, F401
    AudienceSettings,
    Question,
    QuestionStatus,
    QuestionUpvote,
    ReactionCount,
    ReactionKind,
)
from debates.models_stage import MindChange, TurnRun  # noqa: E402, F401
