"""The outbox's rules without a worker process: one-person emails, the sweep that resumes a
stranded mailing, the run number that stops a stale task, and how send failures are kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import IntegrityError
from django.utils import timezone

from events import outbox, tasks
from events.models import EmailStatus, Mailing, MailingKind, OutboundEmail, Subscriber
from tests.mail_server import SmtpServer

pytestmark = pytest.mark.django_db


def test_a_transactional_email_is_queued_to_one_person_without_list_headers(event):
    mailing = outbox.transactional_queue(
        to="Guest@Example.org",
        subject="You are invited",
        text="Come and argue.",
        html="<p>Come and <b>argue</b>.</p>",
        event=event,
        kind=MailingKind.INVITATION,
    )
    [message] = mail.outbox
    assert message.to == ["guest@example.org"] and message.subject == "You are invited"
    assert message.body == "Come and argue."
    assert message.alternatives[0].content == "<p>Come and <b>argue</b>.</p>"
    assert "List-Unsubscribe" not in message.extra_headers
    assert mailing.emails.get().status == EmailStatus.SENT
    with pytest.raises(ValueError):
        outbox.transactional_queue(to="a@example.org", subject="x", text="x", kind="recap")


def _stranded(event) -> Mailing:
    """A mailing as a killed worker leaves it: one email claimed long ago, one waiting."""
    long_ago = timezone.now() - timedelta(hours=1)
    mailing = Mailing.objects.create(
        kind=MailingKind.TRANSACTIONAL,
        subject="Left behind",
        event=event,
        content={"text": "Hello"},
        heartbeat_at=long_ago,
        next_run_at=long_ago,
    )
    OutboundEmail.objects.create(
        mailing=mailing, to="a@example.org", message_id="<a@x>", status=EmailStatus.SENDING,
        claimed_at=long_ago, attempts=1,
    )  # fmt: skip
    OutboundEmail.objects.create(mailing=mailing, to="b@example.org", message_id="<b@x>")
    return mailing


def test_the_sweep_resumes_a_stranded_mailing_and_sends_its_claimed_email_again(event):
    mailing = _stranded(event)
    assert tasks.mailings_resume() == 1
    assert sorted(m.to[0] for m in mail.outbox) == ["a@example.org", "b@example.org"]
    assert [m.extra_headers["Message-ID"] for m in mail.outbox if m.to == ["a@example.org"]] == [
        "<a@x>"
    ]
    mailing.refresh_from_db()
    assert mailing.run == 1 and mailing.finished_at is not None
    assert tasks.mailings_resume() == 0  # finished: nothing to resume


def test_a_mailing_still_alive_is_not_resumed(event):
    mailing = _stranded(event)
    Mailing.objects.filter(pk=mailing.pk).update(heartbeat_at=timezone.now())
    assert tasks.mailings_resume() == 0
    assert mail.outbox == []


def test_a_task_of_an_older_run_sends_nothing(event):
    mailing = _stranded(event)
    Mailing.objects.filter(pk=mailing.pk).update(run=2)
    result = tasks.mailing_send.call(mailing.pk, 1)
    assert result == {"sent": 0, "failed": 0, "next_in": None}
    assert mail.outbox == []


def test_one_announcement_at_a_time_and_one_recap_ever(event):
    Mailing.objects.create(kind=MailingKind.ANNOUNCEMENT, subject="1", event=event)
    with pytest.raises(IntegrityError):
        Mailing.objects.create(kind=MailingKind.ANNOUNCEMENT, subject="2", event=event)


class _Refusing:
    """Refuses one recipient for good (550) and another for now (451)."""

    async def handle_RCPT(self, server, session, envelope, address, options):
        if address.startswith("gone@"):
            return "550 5.1.1 No such mailbox"
        if address.startswith("busy@"):
            return "451 4.2.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_refused_recipient_fails_at_once_and_a_busy_one_is_tried_again(event, settings):
    with SmtpServer() as server:
        handler = server.recorder
        handler.handle_RCPT = _Refusing().handle_RCPT
        settings.MAILERS = {"default": server.mailer()}
        gone = outbox.transactional_queue(to="gone@example.org", subject="s", text="t")
        busy = outbox.transactional_queue(to="busy@example.org", subject="s", text="t")
    row = gone.emails.get()
    assert row.status == EmailStatus.FAILED and "550" in row.last_error and row.attempts == 1
    row = busy.emails.get()
    assert row.status == EmailStatus.PENDING and "451" in row.last_error and row.attempts == 1
    busy.refresh_from_db()
    assert busy.finished_at is None  # the sweep or the next batch tries again


def test_a_reader_who_unsubscribed_after_the_mailing_was_made_is_skipped(event, organiser):
    now = timezone.now()
    for address in ("stays@example.org", "leaves@example.org"):
        Subscriber.objects.create(email=address, consented_at=now, confirmed_at=now)
    organiser.is_staff = True
    organiser.save()
    # The worker is slower than the reader: the mailing is made, then they unsubscribe.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tasks, "mailing_schedule", lambda **kwargs: None)
        mailing = outbox.announcement_queue(event=event, by=organiser)
    Subscriber.objects.filter(email="leaves@example.org").delete()
    tasks.mailing_send.call(mailing.pk, mailing.run)
    assert [m.to for m in mail.outbox] == [["stays@example.org"]]
    assert mailing.emails.get(to="leaves@example.org").status == EmailStatus.SKIPPED


def test_a_title_with_a_line_break_still_makes_a_one_line_subject(event):
    mailing = outbox.transactional_queue(
        to="a@example.org", subject="Spring\nBcc: x@evil.org", text="t"
    )
    assert mailing.subject == "Spring Bcc: x@evil.org"
    [message] = mail.outbox
    assert message.subject == "Spring Bcc: x@evil.org" and message.bcc == []


def test_an_email_that_cannot_be_built_fails_alone_and_the_rest_are_sent(event, monkeypatch):
    from events import sender

    real = sender.build_message

    def build(email, mailing):
        if email.to.startswith("bad@"):
            raise ValueError("Django refuses this address")
        return real(email, mailing)

    monkeypatch.setattr(sender, "build_message", build)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tasks, "mailing_schedule", lambda **kwargs: None)
        mailing = outbox.mailing_create(
            kind=MailingKind.TRANSACTIONAL,
            subject="s",
            recipients=["bad@example.org", "good@example.org"],
            content={"text": "t"},
        )
    assert tasks.mailing_send.call(mailing.pk, mailing.run)["next_in"] is None
    rows = dict(mailing.emails.values_list("to", "status"))
    assert rows == {"bad@example.org": EmailStatus.FAILED, "good@example.org": EmailStatus.SENT}
    assert [m.to for m in mail.outbox] == [["good@example.org"]]


def test_confirmations_to_one_address_stop_at_three_a_day(event):
    sent = []
    for hours_ago in (23, 15, 8, 1):
        mailing = outbox.confirmation_queue(
            email="target@example.org", announcements=True, recaps=True
        )
        sent.append(mailing is not None)
        if mailing is not None:  # as if it had been made that long ago
            Mailing.objects.filter(pk=mailing.pk).update(
                created_at=timezone.now() - timedelta(hours=hours_ago)
            )
    assert sent == [True, True, True, False]
    assert len(mail.outbox) == 3


def test_a_recap_published_to_nobody_is_recorded_so_a_later_publication_sends_nothing(event):
    assert outbox.recap_mailing_queue(event=event, result="Carried.") is not None
    now = timezone.now()
    Subscriber.objects.create(
        email="late@example.org", consented_at=now, confirmed_at=now, source_event=event
    )
    assert outbox.recap_mailing_queue(event=event, result="Carried.") is None
    assert mail.outbox == []
