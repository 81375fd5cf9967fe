"""Background work (Django's tasks framework; django-tasks-db stores the queue in the database
and `manage.py mail_worker` runs it): sending mailings, one batch per task.

A mailing's task sends one batch (events.sender), then queues the next one with `run_after`
set so that MAIL_RATE_PER_MINUTE holds: the batching and the rate limit are the queue itself.
A worker killed mid-batch leaves its task "running" for ever (django-tasks-db does not notice
dead workers), so `mailings_resume` (at the worker's start and every MAIL_SWEEP_SECONDS in
it) gives a mailing a new run and a new task: at once when its worker was a process of this
machine that is gone (events.workers), else once it has shown no sign of life for
MAIL_CLAIM_TIMEOUT. The run number is a fencing token: an older task that wakes up later sends nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.tasks import task
from django.utils import timezone

from events import sender, workers
from events.models import Mailing

log = logging.getLogger("productbreaks.mail")


@task()
def mailing_send(mailing_id: int, run: int) -> dict:
    """One batch of a mailing, then the next batch queued for when the rate allows."""
    outcome = sender.batch_send(mailing_id=mailing_id, run=run)
    # A backend that cannot defer (the tests' ImmediateBackend) runs the next batch at once:
    # only after progress, or a server that stays down would loop; the sweep resumes it.
    can_wait = mailing_send.get_backend().supports_defer
    if outcome.next_in is not None and (can_wait or outcome.progressed):
        mailing_schedule(mailing_id=mailing_id, run=run, delay=outcome.next_in)
    return {"sent": outcome.sent, "failed": outcome.failed, "next_in": outcome.next_in}


def mailing_schedule(*, mailing_id: int, run: int, delay: float = 0.0) -> None:
    """Queues the mailing's next batch in `delay` seconds (at once if the backend cannot wait).

    With the database backend the task row is written in the caller's transaction: a mailing
    is never committed without its task, nor a task without its mailing.
    """
    now = timezone.now()
    due = now + timedelta(seconds=delay)
    Mailing.objects.filter(pk=mailing_id, run=run).update(next_run_at=due, heartbeat_at=now)
    queued = mailing_send
    if delay > 0 and mailing_send.get_backend().supports_defer:
        queued = mailing_send.using(run_after=due)
    queued.enqueue(mailing_id, run)


def mailings_resume(*, now: datetime | None = None) -> int:
    """Gives every stranded mailing a new run and a new task; returns how many.

    Stranded: unfinished, and either its task's worker was a process of this machine that is
    gone (events.workers: resumed at once, its claimed emails with it, as that worker can no
    longer be sending them), or neither a task touched it nor one was due within the last
    MAIL_CLAIM_TIMEOUT. Resuming one that was merely slow is harmless: its old task stops at
    its next claim (the run changed) and no row is claimed twice (events.sender).
    """
    now = now or timezone.now()
    stale = now - sender.claim_lease()
    dead = workers.mailings_of_dead_workers()
    stranded = Mailing.objects.filter(
        Q(pk__in=dead)
        | ((Q(next_run_at__isnull=True) | Q(next_run_at__lt=stale)) & Q(heartbeat_at__lt=stale)),
        finished_at__isnull=True,
    ).values_list("pk", "run")
    resumed = 0
    for mailing_id, run in stranded:
        with transaction.atomic():
            # Compare-and-set: two sweeps at once resume it once.
            if not Mailing.objects.filter(pk=mailing_id, run=run).update(run=F("run") + 1):
                continue
            if mailing_id in dead:
                log.warning("mailing %s: its worker died: resuming it now", mailing_id)
                sender.reclaim_all(mailing_id)
                workers.task_abandon(dead[mailing_id], now)
            else:
                log.warning("mailing %s had stalled: resuming it", mailing_id)
            mailing_schedule(mailing_id=mailing_id, run=run + 1)
            resumed += 1
    return resumed
