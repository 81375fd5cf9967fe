"""An event's team: the people an organiser invited to co-organise, host or moderate it.

Rights follow the role, per event: a co-organiser edits the event as its organiser does (but
may not delete it), hosts and moderators run its console. An invitation is sent to an address;
its link (signed, events.team) lets whoever holds that address set a password and join.
Imported at the end of events/models.py, so Django finds these models with the app's others.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class TeamRole(models.TextChoices):
    # A person's title ("as Host"), which some languages word apart from the speaker's role.
    CO_ORGANISER = "co_organiser", pgettext_lazy("team role", "Co-organiser")
    HOST = "host", pgettext_lazy("team role", "Host")
    MODERATOR = "moderator", pgettext_lazy("team role", "Moderator")


class Membership(models.Model):
    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="event_memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=TeamRole)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("team member")
        verbose_name_plural = _("team members")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "user"], name="events_membership_unique"),
            models.CheckConstraint(
                condition=Q(role__in=TeamRole.values), name="events_membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"


class Invitation(models.Model):
    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="invitations")
    # Lower-cased: the address the link was sent to, and the account it may become.
    email = models.EmailField(_("email"), max_length=254)
    role = models.CharField(_("role"), max_length=16, choices=TeamRole)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Bumped when the invitation is sent again: links signed before it stop working.
    sent_at = models.DateTimeField(_("sent at"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-sent_at", "-id"]
        constraints = [
            # One open invitation per address and event: inviting again re-sends that one.
            models.UniqueConstraint(
                fields=["event", "email"],
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="events_invitation_open_unique",
            ),
            models.CheckConstraint(
                condition=Q(role__in=TeamRole.values), name="events_invitation_role_valid"
            ),
            models.CheckConstraint(
                condition=Q(email=models.functions.Lower("email")),
                name="events_invitation_email_lowercase",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_role_display()})"

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None
