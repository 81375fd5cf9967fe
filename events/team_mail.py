"""The invitation email: written in the event's language, queued, never sent in the request."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext

from events import outbox
from events.models import Invitation, Mailing, MailingKind
from events.team import INVITATION_MAX_AGE


def invitation_email(*, invitation: Invitation, url: str) -> tuple[str, str]:
    """(subject, text) of the email that carries an invitation's link."""
    event = invitation.event
    inviter = invitation.invited_by
    with translation.override(event.language):
        subject = gettext("You are invited to the team of “%(title)s”") % {"title": event.title}
        text = render_to_string(
            "events/email/invitation.txt",
            {
                "event": event,
                "role": invitation.get_role_display(),
                "inviter": (inviter.get_full_name() or inviter.get_username()) if inviter else "",
                "url": url,
                "days": INVITATION_MAX_AGE.days,
            },
        )
    return subject, text


def invitation_email_queue(*, invitation: Invitation, url: str) -> Mailing:
    """Queues the email in the outbox (sent by the worker, never in the request), where the
    organiser sees it went."""
    subject, text = invitation_email(invitation=invitation, url=url)
    return outbox.transactional_queue(
        to=invitation.email,
        subject=subject,
        text=text,
        event=invitation.event,
        kind=MailingKind.INVITATION,
        by=invitation.invited_by,
    )
