"""Which worker ran a task, and whether it is dead: so that a worker restarted on the same
machine resumes a killed one's mailing at once, not after MAIL_CLAIM_TIMEOUT.

django-tasks-db records the worker id that claimed each task (DBTaskResult.worker_ids) and
never notices a dead worker: its task stays RUNNING. Our workers name themselves after where
they run (host, pid namespace, pid), so a worker starting up can tell a task whose worker was a
process of this very machine and pid namespace that no longer exists: that worker is dead for
sure, and its mailing can be resumed now. A task of another machine (or container) cannot be
judged from here, and waits for the lease (events.tasks.mailings_resume) as before.
"""

from __future__ import annotations

import os
import socket

from django.tasks import TaskResultStatus
from django.utils.crypto import get_random_string
from django_tasks_db.models import DBTaskResult

SEPARATOR = "|"
MAILING_TASK = "events.tasks.mailing_send"


def _pid_namespace() -> str:
    """Two containers may share a host name and a pid number: the namespace tells them apart."""
    try:
        return os.readlink("/proc/self/ns/pid").removeprefix("pid:[").removesuffix("]")
    except OSError:  # not Linux: the host name alone
        return "-"


def _place() -> tuple[str, str]:
    return socket.gethostname()[:24], _pid_namespace()[:12]


def worker_id() -> str:
    """This process's worker id (django-tasks-db allows 64 characters)."""
    host, namespace = _place()
    return SEPARATOR.join([host, namespace, str(os.getpid()), get_random_string(8)])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def dead_here(worker: str) -> bool:
    """True only if the worker was a process of this machine and pid namespace that is gone."""
    parts = worker.split(SEPARATOR)
    if len(parts) != 4 or (parts[0], parts[1]) != _place() or not parts[2].isdigit():
        return False
    pid = int(parts[2])
    return pid != os.getpid() and not _alive(pid)


def mailings_of_dead_workers() -> dict[int, str]:
    """{mailing id: task result id} of mailing tasks still RUNNING whose worker died here."""
    found = {}
    running = DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING, task_path=MAILING_TASK
    ).values_list("id", "worker_ids", "args_kwargs")
    for result_id, workers, args_kwargs in running:
        args = (args_kwargs or {}).get("args") or []
        if workers and args and dead_here(workers[-1]):
            found[int(args[0])] = str(result_id)
    return found


def task_abandon(result_id: str, now) -> None:
    """The dead worker's task is closed as failed, so it does not stay RUNNING for ever."""
    DBTaskResult.objects.filter(id=result_id, status=TaskResultStatus.RUNNING).update(
        status=TaskResultStatus.FAILED, finished_at=now
    )
