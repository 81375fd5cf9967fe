"""Sending one batch of a mailing, exactly once per recipient as far as SMTP allows.

Each email is claimed (status "sending", committed), then handed to the mail server, then
marked "sent" (committed). A mail server takes responsibility for a message only when it
answers 250 to the end of its DATA (RFC 5321 4.1.1.4, RFC 1047): a worker killed before that
answer left a message the server did not accept, and the row, still "sending", is sent again
once its claim is older than MAIL_CLAIM_TIMEOUT (longer than any one send can take: every
step of it is bounded by EMAIL_TIMEOUT). The one window left for a duplicate is between the
server's 250 and our commit; the Message-ID is fixed per row, so receivers can de-duplicate
(SECURITY.md, "Email").

events.tasks runs this as a task; nothing here enqueues anything.
"""

from __future__ import annotations

import logging
import smtplib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import mail
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from events.mail import build_message
from events.models import EmailStatus, Mailing, OutboundEmail, Subscriber

log = logging.getLogger("productbreaks.mail")

# After a failure that is not the recipient's (the server unreachable, a 4xx), wait this long.
RETRY_AFTER = 60.0


def claim_lease() -> timedelta:
    return timedelta(seconds=settings.MAIL_CLAIM_TIMEOUT)


def batch_interval() -> float:
    """Seconds between the starts of two batches, so the rate holds on average."""
    return settings.MAIL_BATCH_SIZE * 60.0 / max(settings.MAIL_RATE_PER_MINUTE, 1)


@dataclass(frozen=True)
class BatchOutcome:
    sent: int
    failed: int
    # Seconds until the next batch may start; None when the mailing is done (or not this
    # run's to send any more).
    next_in: float | None
    progressed: bool


def _lock(queryset):
    """Rows a concurrent sender has locked are skipped, not waited for, where the database can
    (PostgreSQL); SQLite has one writer at a time anyway."""
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True)
    return queryset.select_for_update()


@transaction.atomic
def _claim(mailing_id: int, run: int, now: datetime) -> OutboundEmail | None:
    """The next email of the mailing, claimed for this run (committed on return). None when
    none is waiting, or when a newer run took the mailing over (the fencing token)."""
    if not Mailing.objects.filter(pk=mailing_id, run=run, finished_at__isnull=True).exists():
        return None
    email = _lock(
        OutboundEmail.objects.filter(mailing_id=mailing_id, status=EmailStatus.PENDING).order_by(
            "id"
        )
    ).first()
    if email is None:
        return None
    email.status = EmailStatus.SENDING
    email.claimed_at = now
    email.attempts += 1
    email.save(update_fields=["status", "claimed_at", "attempts"])
    Mailing.objects.filter(pk=mailing_id, run=run).update(heartbeat_at=now)
    return email


def _claimed(email: OutboundEmail):
    """This claim of the row, and no later one (a newer run may have reclaimed it)."""
    return OutboundEmail.objects.filter(
        pk=email.pk, status=EmailStatus.SENDING, claimed_at=email.claimed_at
    )


def _still_subscribed(address: str) -> bool:
    """Recipients are fixed when a mailing is made; someone who unsubscribed since is not
    mailed all the same."""
    return Subscriber.objects.filter(email=address, confirmed_at__isnull=False).exists()


def _mark_sent(email: OutboundEmail) -> None:
    with transaction.atomic():
        done = _claimed(email).update(status=EmailStatus.SENT, sent_at=timezone.now())
    if not done:
        log.warning("email %s was reclaimed while this worker sent it", email.pk)


def _mark_failed(email: OutboundEmail, error: BaseException, *, permanent: bool) -> bool:
    """Records the error; the email is tried again unless the error is the recipient's (5xx)
    or it has had MAIL_MAX_ATTEMPTS. True if it failed for good."""
    final = permanent or email.attempts >= settings.MAIL_MAX_ATTEMPTS
    status = EmailStatus.FAILED if final else EmailStatus.PENDING
    with transaction.atomic():
        _claimed(email).update(status=status, last_error=_describe(error)[:500])
    return final


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _is_recipients_fault(error: BaseException) -> bool:
    """A 5xx about this message or its recipient: sending it again cannot help. The sender
    refused or a failed login is the site's configuration, so it is retried instead."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in error.recipients.values())
    if isinstance(error, (smtplib.SMTPSenderRefused, smtplib.SMTPAuthenticationError)):
        return False
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return False


def reclaim_stale(mailing_id: int, now: datetime) -> int:
    """Rows left "sending" by a worker that died before the server's 250: back to pending."""
    with transaction.atomic():
        return OutboundEmail.objects.filter(
            mailing_id=mailing_id, status=EmailStatus.SENDING, claimed_at__lt=now - claim_lease()
        ).update(status=EmailStatus.PENDING)


def reclaim_all(mailing_id: int) -> int:
    """Every row of the mailing left "sending": back to pending. Only for a mailing whose
    worker is known to be dead (events.workers), so nobody can be sending them still."""
    with transaction.atomic():
        return OutboundEmail.objects.filter(
            mailing_id=mailing_id, status=EmailStatus.SENDING
        ).update(status=EmailStatus.PENDING)


def _finish_if_done(mailing_id: int, run: int) -> bool:
    with transaction.atomic():
        unfinished = OutboundEmail.objects.filter(
            Q(status=EmailStatus.PENDING) | Q(status=EmailStatus.SENDING), mailing_id=mailing_id
        ).exists()
        if unfinished:
            return False
        Mailing.objects.filter(pk=mailing_id, run=run, finished_at__isnull=True).update(
            finished_at=timezone.now()
        )
        return True


def _next_claim_expiry(mailing_id: int, now: datetime) -> float:
    oldest = (
        OutboundEmail.objects.filter(mailing_id=mailing_id, status=EmailStatus.SENDING)
        .order_by("claimed_at")
        .values_list("claimed_at", flat=True)
        .first()
    )
    if oldest is None:
        return 0.0
    return max((oldest + claim_lease() - now).total_seconds(), 0.0) + 0.5


def batch_send(*, mailing_id: int, run: int) -> BatchOutcome:
    """Sends up to MAIL_BATCH_SIZE waiting emails of the mailing over one connection.

    Returns what happened and when the next batch may start (None: finished, or this run was
    superseded). The caller (events.tasks) queues that next batch.
    """
    started = time.monotonic()
    mailing = Mailing.objects.select_related("event").filter(pk=mailing_id, run=run).first()
    if mailing is None or mailing.finished_at is not None:
        return BatchOutcome(0, 0, None, False)
    reclaim_stale(mailing_id, timezone.now())
    sent = failed = 0
    retry = progressed = False
    mailer = mail.mailers.default
    try:
        mailer.open()
        for _n in range(settings.MAIL_BATCH_SIZE):
            email = _claim(mailing_id, run, timezone.now())
            if email is None:
                break
            if mailing.has_list_headers and not _still_subscribed(email.to):
                with transaction.atomic():
                    _claimed(email).update(status=EmailStatus.SKIPPED)
                progressed = True
                continue
            try:
                message = build_message(email, mailing)
            except Exception as error:  # this email cannot be built (an address Django refuses):
                # trying again cannot help, and it must not hold up the rest of the list
                log.warning("email %s cannot be built: %s", email.pk, _describe(error))
                _mark_failed(email, error, permanent=True)
                failed += 1
                continue
            try:
                mailer.send_messages([message])
            except Exception as error:  # the server's answer, a lost connection, a provider's API
                log.warning("email %s not sent: %s", email.pk, _describe(error))
                if _mark_failed(email, error, permanent=_is_recipients_fault(error)):
                    failed += 1
                if not _is_recipients_fault(error):
                    retry = True
                    break
            else:
                _mark_sent(email)
                sent += 1
    except Exception as error:  # the connection could not be opened: nothing was claimed
        log.warning("mailing %s: the mail server is unreachable: %s", mailing_id, error)
        retry = True
    finally:
        try:
            mailer.close()
        except Exception:  # a connection already gone: nothing to close
            log.debug("closing the mail connection failed", exc_info=True)
    progressed = True if sent or failed else progressed
    if retry:
        return BatchOutcome(sent, failed, RETRY_AFTER, progressed)
    if _finish_if_done(mailing_id, run):
        return BatchOutcome(sent, failed, None, progressed)
    now = timezone.now()
    if not OutboundEmail.objects.filter(mailing_id=mailing_id, status=EmailStatus.PENDING).exists():
        # Only rows another (dead, or slow) worker claimed are left: look again once they expire.
        return BatchOutcome(sent, failed, _next_claim_expiry(mailing_id, now), progressed)
    return BatchOutcome(
        sent, failed, max(batch_interval() - (time.monotonic() - started), 0.0), progressed
    )
