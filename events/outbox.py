"""Queueing email (issue 17): every email is a Mailing whose recipients are fixed when it is
made, sent in the background (events.tasks), never during a request. Writes only; the outbox
page's reads are in events.selectors.

- a sign-up's confirmation (double opt-in): the only email an unconfirmed address ever gets;
- an event's announcement, by its organiser, to the confirmed subscribers who want them;
- the recap, when first published, to the confirmed subscribers who want recaps;
- transactional_queue: one email to one person (the invitations use it).

Who a list mailing goes to: the confirmed subscribers the event's organiser may export
(events.selectors.mailing_audience: staff reach the whole list, an organiser the people who
signed up at their own events), so the outbox never shows an organiser an address they could
not already see.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from events import tasks
from events.mail import new_message_id
from events.models import Event, Mailing, MailingKind, OutboundEmail, Phase
from events.selectors import mailing_audience

ANNOUNCE_NOT_UPCOMING = _("Only an event that has not started yet can be announced.")
ANNOUNCE_UNDER_WAY = _(
    "An announcement of this event is still being sent. Wait until it has finished."
)
ANNOUNCE_NOBODY = _(
    "Nobody on your list has confirmed that they want announcements yet, so there is no one "
    "to send it to."
)
# A sign-up form must not become a way to flood someone's inbox: one confirmation per address
# in this long, whatever is posted.
CONFIRM_RESEND_AFTER = timedelta(minutes=10)
# And at most this many a day: a script posting someone's address every ten minutes gets
# three emails sent to them, not 144.
CONFIRM_DAILY_CAP = 3


@transaction.atomic
def mailing_create(
    *,
    kind: str,
    subject: str,
    recipients: Iterable[str],
    event: Event | None = None,
    created_by: AbstractBaseUser | None = None,
    content: dict | None = None,
) -> Mailing:
    """Makes the mailing and one row per distinct recipient, and queues its first batch in the
    same transaction (with the database backend, the task row commits with them)."""
    mailing = Mailing.objects.create(
        kind=kind,
        # One line: a subject is a header, and a line break in one (an event's title) would
        # make Django refuse to build the message.
        subject=" ".join(str(subject).split())[:200],
        event=event,
        created_by=created_by if created_by and created_by.is_authenticated else None,
        content=content or {},
    )
    addresses = sorted({address.strip().lower() for address in recipients})
    OutboundEmail.objects.bulk_create(
        OutboundEmail(mailing=mailing, to=address, message_id=new_message_id())
        for address in addresses
    )
    tasks.mailing_schedule(mailing_id=mailing.pk, run=mailing.run)
    return mailing


def _list_for(event: Event, *, wants: str) -> list[str]:
    return list(mailing_audience(event, wants=wants).values_list("email", flat=True))


@transaction.atomic
def announcement_queue(*, event: Event, by: AbstractBaseUser) -> Mailing:
    """Queues the announcement of an upcoming event to the confirmed subscribers who want
    announcements. Raises ValidationError (ANNOUNCE_*) if it has started, an announcement is
    still being sent, or nobody would get it."""
    event = Event.objects.select_for_update().get(pk=event.pk)
    if event.phase != Phase.LOBBY or event.starts_at < timezone.now():
        raise ValidationError(ANNOUNCE_NOT_UPCOMING, code="not_upcoming")
    if Mailing.objects.filter(
        event=event, kind=MailingKind.ANNOUNCEMENT, finished_at__isnull=True
    ).exists():
        raise ValidationError(ANNOUNCE_UNDER_WAY, code="under_way")
    recipients = _list_for(event, wants="wants_announcements")
    if not recipients:
        raise ValidationError(ANNOUNCE_NOBODY, code="nobody")
    with translation.override(event.language):
        subject = gettext("Next debate: %(title)s") % {"title": event.title}
    return mailing_create(
        kind=MailingKind.ANNOUNCEMENT,
        subject=subject,
        recipients=recipients,
        event=event,
        created_by=by,
    )


def recap_mailing_queue(
    *, event: Event, result: str, by: AbstractBaseUser | None = None
) -> Mailing | None:
    """Queues the recap's email (its link and `result`, one line in the event's language) to
    the confirmed subscribers who want recaps. Once per event ever: publishing again after
    taking the recap down sends nothing (None). A list with nobody on it is recorded all the
    same (a mailing of no one, in the outbox), so that a later re-publication cannot send it
    to people who subscribed since."""
    if Mailing.objects.filter(event=event, kind=MailingKind.RECAP).exists():
        return None
    recipients = _list_for(event, wants="wants_recaps")
    with translation.override(event.language):
        subject = gettext("The recap: %(title)s") % {"title": event.title}
    try:
        with transaction.atomic():
            return mailing_create(
                kind=MailingKind.RECAP,
                subject=subject,
                recipients=recipients,
                event=event,
                created_by=by,
                content={"result": result},
            )
    except IntegrityError:  # published twice at once: the other one queued it
        return None


def confirmation_queue(
    *, email: str, announcements: bool, recaps: bool, event: Event | None = None
) -> Mailing | None:
    """Queues the one email a new sign-up gets: a signed link that confirms it (and the lists
    chosen). None if one went to this address within CONFIRM_RESEND_AFTER, or
    CONFIRM_DAILY_CAP did in the last day."""
    now = timezone.now()
    sent = OutboundEmail.objects.filter(to=email, mailing__kind=MailingKind.CONFIRM)
    if sent.filter(mailing__created_at__gte=now - CONFIRM_RESEND_AFTER).exists():
        return None
    if sent.filter(mailing__created_at__gte=now - timedelta(days=1)).count() >= CONFIRM_DAILY_CAP:
        return None
    language = event.language if event is not None else translation.get_language()
    with translation.override(language):
        subject = gettext("Confirm your subscription to productbreaks")
    return mailing_create(
        kind=MailingKind.CONFIRM,
        subject=subject,
        recipients=[email],
        # The confirmation is about the list, not the event: written in the event's language
        # when they signed up at one, else in the language of the page they used.
        content={"announcements": announcements, "recaps": recaps, "language": language},
    )


def transactional_queue(
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    event: Event | None = None,
    kind: str = MailingKind.TRANSACTIONAL,
    by: AbstractBaseUser | None = None,
) -> Mailing:
    """Queues one email to one person, without list headers (not a mailing list): an
    invitation, a notice. `subject`, `text` and `html` are sent as given (translate them
    before, e.g. under translation.override(event.language)); the outbox keeps them."""
    if kind not in {MailingKind.TRANSACTIONAL, MailingKind.INVITATION}:
        raise ValueError(f"Not a one-person kind: {kind}")
    return mailing_create(
        kind=kind,
        subject=subject,
        recipients=[to],
        event=event,
        created_by=by,
        content={"text": text, "html": html or ""},
    )
