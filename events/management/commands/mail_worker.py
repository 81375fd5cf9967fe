"""`manage.py mail_worker`: django-tasks-db's `db_worker` (same options), which first resumes
mailings a dead worker left stranded, and keeps checking every MAIL_SWEEP_SECONDS.

django-tasks-db leaves the task of a worker killed mid-run "running" for ever; the mailing
behind it would never finish. events.tasks.mailings_resume gives such a mailing a new run.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections, connection
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from events import workers
from events.tasks import mailings_resume

log = logging.getLogger("productbreaks.mail")


def _sweep() -> None:
    try:
        mailings_resume()
    except Exception:  # a locked or unreachable database: the next sweep tries again
        log.exception("the mailing sweep failed")
    finally:
        close_old_connections()


def _sweep_every(seconds: float, stop: threading.Event) -> None:
    while not stop.wait(seconds):
        _sweep()
    connection.close()


class Command(DbWorkerCommand):
    help = "Runs background tasks (sending email), resuming mailings a dead worker left."

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        # Named after where it runs, so a worker restarted here knows this one died
        # (events.workers); django-tasks-db's default is a random string.
        parser.set_defaults(worker_id=workers.worker_id())

    def handle(self, *args: object, **options: object) -> None:
        _sweep()
        stop = threading.Event()
        seconds = settings.MAIL_SWEEP_SECONDS
        threading.Thread(target=_sweep_every, args=(seconds, stop), daemon=True).start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
