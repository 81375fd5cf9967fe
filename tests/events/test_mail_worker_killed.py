"""A real worker (`manage.py mail_worker`, django-tasks-db) sending an announcement to a real
SMTP server, SIGKILLed twice and restarted: every recipient gets exactly one accepted message.

First kill: between batches, while the next batch's task waits for its run_after (the rate
limit). Second kill: mid-send, while the worker waits for the server's 250 to a message's DATA
(tests/mail_server.py holds it); the server then records that message as never accepted, as
the SMTP contract has it. The restarted worker resumes the stranded mailing at once, as its
task's worker was a process of this machine that is gone (events.workers): the claims' lease,
MAIL_CLAIM_TIMEOUT, is ten minutes here, far beyond the test's wait, so it plays no part. It
sends that message again, with the same Message-ID.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bench.launcher import REPO, django_script, manage, server_env
from tests.mail_server import SmtpServer, wait_for

pytestmark = pytest.mark.slow

RECIPIENTS = [f"reader{n:02d}@example.org" for n in range(10)]
BATCH = 4  # batches: 0-3, 4-7 (the 6th message held), 8-9
HELD = 6

SETUP = """
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from events import outbox
from events.models import Subscriber
from events.services import event_create
organiser = get_user_model().objects.create_user("org", password="pw", is_staff=True)
event = event_create(organiser=organiser, title="Kill test", motion="Workers die.",
                     starts_at=timezone.now() + timedelta(days=3))
now = timezone.now()
for address in %r:
    Subscriber.objects.create(email=address, consented_at=now, confirmed_at=now)
mailing = outbox.announcement_queue(event=event, by=organiser)
print(json.dumps(mailing.pk))
"""


def _rows(db: Path) -> list[tuple[str, str, str | None, int]]:
    with sqlite3.connect(db, timeout=20) as conn:
        return conn.execute(
            'SELECT "to", status, sent_at, attempts FROM events_outboundemail ORDER BY id'
        ).fetchall()


def _message_ids(db: Path) -> dict[str, str]:
    with sqlite3.connect(db, timeout=20) as conn:
        return dict(conn.execute('SELECT "to", message_id FROM events_outboundemail').fetchall())


def _finished(db: Path) -> bool:
    with sqlite3.connect(db, timeout=20) as conn:
        return conn.execute("SELECT finished_at FROM events_mailing").fetchone()[0] is not None


def _waiting_task(db: Path) -> bool:
    """The next batch's task is queued and not yet due (the rate limit holds it back)."""
    with sqlite3.connect(db, timeout=20) as conn:
        return bool(
            conn.execute(
                "SELECT count(*) FROM django_tasks_database_dbtaskresult"
                " WHERE status = 'READY' AND run_after > strftime('%Y-%m-%d %H:%M:%f', 'now')"
            ).fetchone()[0]
        )


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "mail_worker", "--no-reload", "--no-startup-delay",
         "--interval", "0.2"],
        cwd=REPO, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def _kill(worker: subprocess.Popen) -> None:
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)


@pytest.mark.timeout(300)
def test_a_worker_killed_mid_send_and_between_batches_sends_each_email_exactly_once(tmp_path):
    db = tmp_path / "mail.sqlite3"
    log = tmp_path / "worker.log"
    with SmtpServer() as smtp:
        server = smtp.recorder
        env = server_env(
            SQLITE_PATH=str(db),
            TASKS_BACKEND="database",
            EMAIL_BACKEND="smtp",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(smtp.port),
            EMAIL_TIMEOUT="60",
            MAIL_BATCH_SIZE=str(BATCH),
            # 4 emails every 4 s: time enough (40 polls) to kill the worker while the next batch waits.
            MAIL_RATE_PER_MINUTE="60",
            MAIL_CLAIM_TIMEOUT="600",  # the restart must not wait for the lease
            MAIL_SWEEP_SECONDS="0.5",
            SITE_URL="https://debates.example.org",
        )
        manage(env, "migrate", "--noinput")
        django_script(env, SETUP % (RECIPIENTS,))
        server.hold_at = HELD
        dump = lambda: log.read_text() if log.exists() else ""  # noqa: E731

        # Kill 1: the first batch is sent and the second waits for its turn.
        worker = _start_worker(env, log)
        wait_for(lambda: len(server.accepted) == BATCH and _waiting_task(db), timeout=60,
                 what="the first batch, then the second one waiting\n" + dump())  # fmt: skip
        _kill(worker)
        assert Counter(status for _to, status, _at, _n in _rows(db)) == {"sent": 4, "pending": 6}

        # Kill 2: the worker is waiting for the server's 250 to the 6th message.
        worker = _start_worker(env, log)
        assert server.holding.wait(timeout=60), "the held message never came\n" + dump()
        _kill(worker)
        wait_for(lambda: server.abandoned, timeout=30, what="the server to see the client go")
        statuses = Counter(status for _to, status, _at, _n in _rows(db))
        assert statuses == {"sent": 5, "sending": 1, "pending": 4}, statuses

        # Restarted: the stranded mailing is resumed and finished.
        worker = _start_worker(env, log)
        try:
            wait_for(lambda: _finished(db), timeout=90, what="the mailing to finish\n" + dump())
        finally:
            worker.terminate()
            worker.wait(timeout=30)

    # Every recipient: exactly one accepted message, each Message-ID once (the row's own).
    assert sorted(server.recipients()) == RECIPIENTS
    ids = _message_ids(db)
    assert sorted(server.message_ids()) == sorted(ids.values())
    assert {str(m["To"]): str(m["Message-ID"]) for m in server.accepted} == ids
    # The one whose DATA was cut off was sent again under the same Message-ID.
    [abandoned] = server.abandoned
    assert str(abandoned["Message-ID"]) == ids[str(abandoned["To"])]
    rows = _rows(db)
    assert all(status == "sent" and sent_at for _to, status, sent_at, _n in rows), rows
    assert Counter(attempts for *_r, attempts in rows) == {1: 9, 2: 1}
