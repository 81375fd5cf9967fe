"""events.workers: a worker's id says where it ran, so a dead one of this machine is known."""

from __future__ import annotations

import os
import subprocess
import sys

from events import workers


def test_a_finished_process_of_this_machine_is_dead_and_nothing_else_is():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(timeout=30)
    host, namespace = workers._place()
    gone = workers.SEPARATOR.join([host, namespace, str(process.pid), "abcdefgh"])
    assert workers.dead_here(gone)

    me = workers.worker_id()
    assert me.split(workers.SEPARATOR)[2] == str(os.getpid())
    assert not workers.dead_here(me)  # this very process
    assert not workers.dead_here(gone.replace(host, "elsewhere", 1))  # another machine
    assert not workers.dead_here(gone.replace(namespace, "4026530000", 1))  # another container
    assert not workers.dead_here("a random django-tasks-db id")  # not ours to judge
    assert len(me) <= 64  # django-tasks-db's limit
