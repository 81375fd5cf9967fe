"""The one launcher of daphne, shared by the bench and the tests (it needs no pytest).

    env = server_env(SQLITE_PATH=path)     # or DATABASE_URL=..., REDIS_URL=...
    manage(env, "migrate", "--noinput")
    with Daphne(env, name="daphne-a") as server:   # a free port; waits until it accepts
        ... server.url, server.ws_url ...
    server.errors()                        # tracebacks and ERROR lines from its log

Each process runs the systemd unit's own command (deploy/systemd, its ExecStart line), on a
TCP port of 127.0.0.1 or, for the bench's cluster behind nginx, on the unit's unix socket in a
directory of the caller's. It has a process group of its own (stopped as one) and the kernel
ends it if the harness dies, however. `manage` and `django_script` run Django code against a
server's database in a subprocess, so a caller set up for another database can prepare and
recount.
"""

from __future__ import annotations

import json
import os
import re
import resource
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
UNIT = REPO / "deploy" / "systemd" / "productbreaks-daphne@.service"
# Twisted listens with a queue of 50 unless told otherwise; a join storm overflows that.
BACKLOG = 4096
# Variables of the calling process that must not leak into a server's configuration.
_SCRUB = {
    "DATABASE_URL",
    "REDIS_URL",
    "SQLITE_PATH",
    "DEBUG",
    "DJANGO_SETTINGS_MODULE",
}
# Lines of a server's log that show a failure on its side (a traceback, a 500, daphne's 1011).
ERROR_MARKERS = ("Traceback", "ERROR", "Internal Server Error", "CRITICAL")


class ServerError(RuntimeError):
    pass


def raise_nofile() -> int:
    """Lifts this process's open-files limit to the hard limit; children inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def die_with_parent() -> None:
    """In a child before exec: the kernel sends it SIGTERM when the harness dies, however."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def child_setup(nofile: int | None = None):
    def setup() -> None:
        die_with_parent()
        if nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    return setup


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def venv_bin(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def server_env(**extra: str) -> dict[str, str]:
    """The environment of a server (and of `manage` against its database): production-like,
    DEBUG off, this process's database and layer settings left out. `extra` names the
    database (SQLITE_PATH or DATABASE_URL), REDIS_URL, SECRET_KEY and anything else."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env |= {
        "DJANGO_SETTINGS_MODULE": "productbreaks.settings",
        "SECRET_KEY": "server-" + secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "HTTPS": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    return env | extra


def run_python(env: dict[str, str], args: list[str], *, what: str, timeout: float) -> str:
    """`python <args>` in the repo with env (a server's database); its stdout."""
    result = subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode:
        raise ServerError(f"{what} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    return run_python(
        env, ["manage.py", *args], what=f"manage.py {' '.join(args)}", timeout=timeout
    )


def django_script(env: dict[str, str], code: str, timeout: float = 60) -> Any:
    """Runs `code` with Django set up on env's database; returns the JSON it prints last."""
    prelude = "import json, django\ndjango.setup()\n"
    out = run_python(env, ["-c", prelude + code], what="script", timeout=timeout)
    return json.loads(out.strip().splitlines()[-1])


def daphne_command_from_unit(
    instance: int, runtime_dir: Path, *, app: str = ""
) -> tuple[list[str], int]:
    """The unit's ExecStart for one instance, with /run/productbreaks and the venv made local;
    `app` serves another ASGI application (the bench's group_send baseline)."""
    text = UNIT.read_text()
    match = re.search(r"^ExecStart=(.+)$", text, re.MULTILINE)
    limit = re.search(r"^LimitNOFILE=(\d+)$", text, re.MULTILINE)
    if not match:
        raise ServerError(f"{UNIT} has no ExecStart line")
    line = match.group(1).replace("%i", str(instance))
    line = line.replace("/run/productbreaks", str(runtime_dir))
    argv = shlex.split(line)
    argv[0] = venv_bin("daphne")
    # To measure a change to the entry point without editing the unit: BENCH_ASGI_APP=mod:app.
    if os.environ.get("BENCH_ASGI_APP"):
        argv[-1] = os.environ["BENCH_ASGI_APP"]
    if app:
        argv[-1] = app
    return argv, int(limit.group(1)) if limit else 65536


def tcp_command(port: int, *, app: str = "") -> list[str]:
    """The unit's daphne flags, but on a TCP port and without proxy headers (no proxy)."""
    argv, _ = daphne_command_from_unit(1, Path("/nonexistent"), app=app)
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            out.append(f"tcp:port={port}:interface=127.0.0.1:backlog={BACKLOG}")
            continue
        if arg == "-e":
            skip = True
        if arg == "--proxy-headers":
            continue
        out.append(arg)
    return out


class Daphne:
    """One daphne process serving productbreaks.asgi: on a free TCP port of 127.0.0.1, or on
    the unit's unix socket in `runtime_dir` (as deployed, for nginx in front)."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        name: str = "daphne",
        port: int = 0,
        runtime_dir: Path | None = None,
        instance: int = 1,
        log_path: Path | None = None,
        nofile: int | None = None,
        startup: float = 60,
        app: str = "",
    ) -> None:
        self.env = env
        self.app = app  # another ASGI application than the unit's (bench/baseline.py)
        self.name = name
        self.port = port
        self.runtime_dir = runtime_dir
        self.instance = instance
        self.nofile = nofile
        self.startup = startup
        self.log_path = log_path or Path(tempfile.mkstemp(prefix=f"pb-{name}-", suffix=".log")[1])
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def unix_socket(self) -> Path | None:
        if self.runtime_dir is None:
            return None
        return self.runtime_dir / f"daphne-{self.instance}.sock"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def errors(self) -> list[str]:
        """Lines that show a server-side failure (tracebacks, ERROR logs, 500s)."""
        return [line for line in self.log().splitlines() if any(m in line for m in ERROR_MARKERS)]

    def start(self) -> Daphne:
        chosen = self.port
        # A free port can be taken between choosing and binding: choose again, twice at most.
        for _attempt in range(1 if chosen or self.runtime_dir else 3):
            if self.runtime_dir is not None:
                argv, limit = daphne_command_from_unit(
                    self.instance, self.runtime_dir, app=self.app
                )
                nofile = min(self.nofile or limit, raise_nofile())
            else:
                self.port = chosen or free_port()
                argv, nofile = tcp_command(self.port, app=self.app), self.nofile
            with self.log_path.open("ab") as log:
                self.proc = subprocess.Popen(
                    argv,
                    cwd=REPO,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group, stopped as one
                    preexec_fn=child_setup(nofile),
                )
            if self._wait_until_ready():
                return self
            if "Address already in use" not in self.log():
                break
        self.stop()
        raise ServerError(f"{self.name} did not start. Its log:\n{self.log()[-5000:]}")

    def _wait_until_ready(self) -> bool:
        deadline = time.monotonic() + self.startup
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if self.unix_socket is not None:
                if self.unix_socket.exists():
                    return True
            else:
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                        return True
                except OSError:
                    pass
            time.sleep(0.05)
        return False

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if not self.alive():
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass

    def __enter__(self) -> Daphne:
        return self.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        self.stop()
        if exc_type is not None:
            sys.stderr.write(
                f"\n--- {self.name} log ({self.log_path}) ---\n{self.log()[-20000:]}\n"
            )
