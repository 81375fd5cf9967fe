"""An event's team: inviting co-organisers, hosts and moderators, and their joining.

The invitation link is the credential: it names the invitation and when it was sent, signed
with the site's key (django.core.signing), so it cannot be forged or pointed at another
invitation. It works once, for INVITATION_MAX_AGE, and only while the invitation is open: a
re-sent invitation (a new `sent_at`) or a withdrawn one makes older links fail. Whoever opens
it either has no account yet (they choose a password, Django's SetPasswordForm, and the account
is made with the invited address) or signs in to the account that has that address.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from events.models import Event, Invitation, Membership, TeamRole
from events.services import SUBSCRIBE_EMAIL_INVALID, email_valid

INVITATION_SALT = "productbreaks.invitation"
INVITATION_MAX_AGE = timedelta(days=14)
# Sending the same invitation again sooner is refused: a double click, or someone using the
# form to flood an inbox.
INVITATION_RESEND_AFTER = timedelta(minutes=1)

# The same words and check as signing up (events.services).
INVITE_EMAIL_INVALID = SUBSCRIBE_EMAIL_INVALID
INVITE_ROLE_INVALID = _("Choose co-organiser, host or moderator.")
INVITE_ALREADY_MEMBER = _("This person is already on the event's team.")
INVITE_SENT_JUST_NOW = _(
    "An invitation went to this address a moment ago. Give it a minute to arrive before "
    "sending it again."
)
INVITE_IS_ORGANISER = _("This is the event's organiser: they have every right already.")
INVITATION_INVALID = _(
    "This invitation link is broken. Copy the whole link from the email, or ask the organiser "
    "to send it again."
)
INVITATION_EXPIRED = _("This invitation has expired. Ask the organiser to send it again.")
INVITATION_CLOSED = _(
    "This invitation was already used or withdrawn. Ask the organiser for a new one if you "
    "still need it."
)
INVITATION_WRONG_ACCOUNT = _(
    "This invitation is for another email address. Sign out, then open the link again."
)
INVITATION_HAS_ACCOUNT = _(
    "There is already an account with this email address: sign in to it to accept."
)


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=INVITATION_SALT)


def invitation_token(invitation: Invitation) -> str:
    """The secret part of the invitation's link."""
    return _signer().sign_object(
        {"i": invitation.pk, "s": invitation.sent_at.isoformat()}, compress=True
    )


def account_for_email(email: str) -> AbstractBaseUser | None:
    """The account an address belongs to (its email, or a username that is the address)."""
    user_model = get_user_model()
    return (
        user_model.objects.filter(Q(email__iexact=email) | Q(username__iexact=email))
        .order_by("pk")
        .first()
    )


@transaction.atomic
def invitation_send(
    *, event: Event, email: str, role: str, invited_by: AbstractBaseUser | None
) -> Invitation:
    """Invites an address to the event's team, or sends the open invitation to it again (with
    the role asked for now). The caller queues the email after commit (events.team_mail)."""
    email = email.strip().lower()
    if not email_valid(email):
        raise ValidationError(INVITE_EMAIL_INVALID, code="invalid")
    if role not in TeamRole.values:
        raise ValidationError(INVITE_ROLE_INVALID, code="role")
    user = account_for_email(email)
    if user is not None and user.pk == event.organiser_id:
        raise ValidationError(INVITE_IS_ORGANISER, code="organiser")
    if user is not None and Membership.objects.filter(event=event, user=user).exists():
        raise ValidationError(INVITE_ALREADY_MEMBER, code="member")
    now = timezone.now()
    invitation = (
        Invitation.objects.select_for_update()
        .filter(event=event, email=email, accepted_at__isnull=True, revoked_at__isnull=True)
        .first()
    )
    if invitation is None:
        return Invitation.objects.create(
            event=event, email=email, role=role, invited_by=invited_by, sent_at=now
        )
    if invitation.sent_at > now - INVITATION_RESEND_AFTER:
        raise ValidationError(INVITE_SENT_JUST_NOW, code="too_soon")
    invitation.role, invitation.invited_by, invitation.sent_at = role, invited_by, now
    invitation.save(update_fields=["role", "invited_by", "sent_at"])
    return invitation


def invitation_for_token(token: str, *, now=None) -> Invitation:
    """The open invitation a link stands for. Raises ValidationError with a message that says
    what to do: a broken link, an expired one, one used or withdrawn (or sent again since)."""
    now = now or timezone.now()
    try:
        data = _signer().unsign_object(token, max_age=INVITATION_MAX_AGE)
    except signing.SignatureExpired:
        raise ValidationError(INVITATION_EXPIRED, code="expired") from None
    except signing.BadSignature:
        raise ValidationError(INVITATION_INVALID, code="bad_link") from None
    invitation = Invitation.objects.select_related("event").filter(pk=data.get("i")).first()
    if invitation is None or not invitation.is_open:
        raise ValidationError(INVITATION_CLOSED, code="closed")
    if invitation.sent_at.isoformat() != data.get("s"):
        raise ValidationError(INVITATION_CLOSED, code="closed")  # sent again since
    if invitation.sent_at + INVITATION_MAX_AGE < now:
        raise ValidationError(INVITATION_EXPIRED, code="expired")
    return invitation


@transaction.atomic
def invitation_accept(
    *, token: str, user: AbstractBaseUser | None = None, password: str | None = None
) -> tuple[Membership, AbstractBaseUser]:
    """Puts the person on the team; returns their membership and account.

    `user`: the account signed in now, which must be the invited address's. With none, a new
    account is made for the address with `password` (which the view checked with Django's
    SetPasswordForm and the site's validators), refused if the address has an account already.
    """
    invitation = invitation_for_token(token)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_open:  # accepted by a concurrent request since the read above
        raise ValidationError(INVITATION_CLOSED, code="closed")
    existing = account_for_email(invitation.email)
    if user is not None and user.is_authenticated:
        if existing is None or existing.pk != user.pk:
            raise ValidationError(INVITATION_WRONG_ACCOUNT, code="wrong_account")
    elif existing is not None:
        raise ValidationError(INVITATION_HAS_ACCOUNT, code="has_account")
    else:
        if not password:
            raise ValueError("A new account needs a password.")
        user = get_user_model()(username=invitation.email, email=invitation.email)
        user.set_password(password)
        user.save()
    membership, created = Membership.objects.get_or_create(
        event=invitation.event, user=user, defaults={"role": invitation.role}
    )
    if not created and membership.role != invitation.role:
        membership.role = invitation.role
        membership.save(update_fields=["role"])
    invitation.accepted_at, invitation.accepted_by = timezone.now(), user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership, user


@transaction.atomic
def invitation_withdraw(*, event: Event, invitation_id: int) -> bool:
    """Withdraws an open invitation: its link stops working. False if there was none open."""
    updated = Invitation.objects.filter(
        pk=invitation_id, event=event, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    return updated > 0


@transaction.atomic
def membership_remove(*, event: Event, membership_id: int) -> bool:
    """Takes someone off the team; their open consoles lose host rights at once (the debate's
    host_rights hears of the delete). False if they were not on it."""
    membership = Membership.objects.filter(pk=membership_id, event=event).first()
    if membership is None:
        return False
    membership.delete()
    return True
