"""The outbox (issue 17): every email the site sends is a Mailing (what, about which event, by
whom) with one OutboundEmail per recipient (to whom, and whether and when it was sent).

Recipients are fixed when the mailing is made (one row each, unique), so a worker killed and
restarted never adds or loses anyone; events.outbox sends them, events.tasks runs it.
Imported at the end of events.models, so Django and the migrations see these models as the
events app's (the event is named by string: this module must not import events.models).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MailingKind(models.TextChoices):
    CONFIRM = "confirm", _("Sign-up confirmation")
    ANNOUNCEMENT = "announcement", _("Announcement")
    RECAP = "recap", _("Recap")
    INVITATION = "invitation", _("Invitation")
    TRANSACTIONAL = "transactional", _("Message")


# Mailings to the list: each email carries the one-click unsubscribe headers (RFC 8058).
LIST_KINDS = frozenset({MailingKind.ANNOUNCEMENT, MailingKind.RECAP})


class EmailStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    # Claimed by a worker (committed) before it talks to the mail server: a row left here by a
    # worker that died is sent again once its claim is MAIL_CLAIM_TIMEOUT old (events.outbox).
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    # A list email whose reader unsubscribed (or was removed) before their turn came.
    SKIPPED = "skipped", _("Not sent: unsubscribed")


class Mailing(models.Model):
    kind = models.CharField(_("kind"), max_length=20, choices=MailingKind)
    event = models.ForeignKey(
        "events.Event",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="mailings",
        verbose_name=_("event"),
    )
    subject = models.CharField(_("subject"), max_length=200)
    # What the templates need beyond the event: a confirmation's chosen lists, a transactional
    # email's own text and HTML. Never anything of the recipients.
    content = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("queued by"),
    )
    created_at = models.DateTimeField(_("queued at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # The task run allowed to send (a fencing token): the sweep that resumes a stranded mailing
    # starts a new run, and a task of an older run that wakes up later stops at once.
    run = models.PositiveIntegerField(default=0, editable=False)
    # When its queued task is due, and the last sign of life of a task sending it: a mailing
    # unfinished well past both has lost its task (a worker killed) and is resumed.
    next_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    heartbeat_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("mailing")
        verbose_name_plural = _("mailings")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=MailingKind.values), name="events_mailing_kind_valid"
            ),
            # Publishing the recap again (after taking it down) does not mail it again.
            models.UniqueConstraint(
                fields=["event"],
                condition=Q(kind=MailingKind.RECAP),
                name="events_mailing_one_recap_per_event",
            ),
            # Pressing "Announce" twice, or from two tabs, queues one announcement.
            models.UniqueConstraint(
                fields=["event"],
                condition=Q(kind=MailingKind.ANNOUNCEMENT, finished_at__isnull=True),
                name="events_mailing_one_announcement_at_a_time",
            ),
        ]
        indexes = [
            # The sweep's "unfinished mailings" (events.outbox.mailings_resume).
            models.Index(
                fields=["heartbeat_at"],
                condition=Q(finished_at__isnull=True),
                name="events_mailing_unfinished_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"

    @property
    def has_list_headers(self) -> bool:
        return self.kind in LIST_KINDS


class OutboundEmail(models.Model):
    mailing = models.ForeignKey(
        Mailing, on_delete=models.CASCADE, related_name="emails", verbose_name=_("mailing")
    )
    to = models.EmailField(_("to"), max_length=254)
    status = models.CharField(
        _("status"), max_length=10, choices=EmailStatus, default=EmailStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # Fixed when the row is made (email.utils.make_msgid): every attempt sends the same
    # Message-ID, so a receiver can drop a duplicate (see SECURITY.md, "Email").
    message_id = models.CharField(_("Message-ID"), max_length=255, unique=True)
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("outbound email")
        verbose_name_plural = _("outbound emails")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=EmailStatus.values), name="events_outboundemail_status_valid"
            ),
            models.UniqueConstraint(
                fields=["mailing", "to"], name="events_outboundemail_one_per_recipient"
            ),
            models.CheckConstraint(
                condition=Q(status=EmailStatus.SENT) | Q(sent_at__isnull=True),
                name="events_outboundemail_sent_at_only_when_sent",
            ),
        ]
        indexes = [
            # The sender's claim (next pending row of a mailing) and the outbox's counts.
            models.Index(fields=["mailing", "status", "id"], name="events_outbound_claim_idx"),
            # How many confirmations an address got lately (events.services.subscriber_add).
            models.Index(fields=["to", "mailing"], name="events_outbound_to_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.to} ({self.get_status_display()})"
