"""The signed links in emails: unsubscribing (never expires) and confirming a sign-up (double
opt-in, expires). Both are signed with SECRET_KEY, so nobody can unsubscribe, or confirm,
someone else's address by guessing or editing a link."""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# An unsubscribe link names the address; it never expires, as a link in an old email must
# keep working.
UNSUBSCRIBE_SALT = "productbreaks.unsubscribe"
UNSUBSCRIBE_LINK_INVALID = _("This unsubscribe link is broken. Copy the whole link from the email.")

CONFIRM_SALT = "productbreaks.subscribe-confirm"
# Generous: people read their email late. A link past it asks them to sign up again.
CONFIRM_MAX_AGE = 30 * 24 * 60 * 60
CONFIRM_LINK_INVALID = _(
    "This confirmation link is broken or too old. Sign up again and use the link in the new email."
)


def unsubscribe_token(email: str) -> str:
    return signing.dumps(email.strip().lower(), salt=UNSUBSCRIBE_SALT, compress=True)


def subscriber_email_for(token: str) -> str:
    """The address an unsubscribe link was made for. Raises ValidationError if it was altered."""
    try:
        return signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        raise ValidationError(UNSUBSCRIBE_LINK_INVALID, code="bad_link") from None


@dataclass(frozen=True)
class SignUp:
    """What a confirmation link confirms: the address and the lists the person chose."""

    email: str
    announcements: bool
    recaps: bool


def confirm_token(sign_up: SignUp) -> str:
    payload = {"e": sign_up.email, "a": sign_up.announcements, "r": sign_up.recaps}
    return signing.dumps(payload, salt=CONFIRM_SALT, compress=True)


def sign_up_for(token: str) -> SignUp:
    """The sign-up a confirmation link was made for. Raises ValidationError if it was altered
    or is older than CONFIRM_MAX_AGE."""
    try:
        payload = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
        return SignUp(
            email=str(payload["e"]), announcements=bool(payload["a"]), recaps=bool(payload["r"])
        )
    except (signing.BadSignature, KeyError, TypeError):
        raise ValidationError(CONFIRM_LINK_INVALID, code="bad_link") from None
