"""Starts the server under test and reads its processes (daphne itself: bench.launcher).

Embedded: one daphne process on SQLite with the in-memory channel layer (what `make run` serves).
Cluster: two daphne processes on PostgreSQL and Redis behind nginx, started from the very files
deploy/ ships (the systemd unit's ExecStart line and the nginx site), with ports and paths pointed
at a temporary directory. Everything listens on 127.0.0.1 and is stopped when the block ends.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from bench.launcher import (
    REPO,
    Daphne,
    ServerError,
    child_setup,
    django_script,
    free_port,
    manage,
    raise_nofile,
    run_python,
    server_env,
)

DEPLOY = REPO / "deploy"
NGINX_SITE = DEPLOY / "nginx" / "productbreaks.conf"
NGINX_MAIN = DEPLOY / "nginx" / "nginx-main.conf"
DEFAULT_DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"
)
DEFAULT_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")


@dataclass
class ProcSample:
    """RSS and CPU time of one process, read from /proc."""

    pid: int

    def rss_bytes(self) -> int:
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def cpu_seconds(self) -> float:
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        # utime and stime are fields 14 and 15; after the ")" they are at 11 and 12.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def nginx_binary(*, install: bool = True) -> str:
    """Debian's nginx; installed with apt-get when missing and allowed (a fresh CI machine)."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if found:
        return found
    if install and os.geteuid() == 0 and shutil.which("apt-get"):
        print("bench: installing Debian's nginx (apt-get install nginx)", file=sys.stderr)
        env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "nginx"],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        # Debian's package may start its own service on port 80; the bench runs its own nginx.
        subprocess.run(["service", "nginx", "stop"], check=False, capture_output=True)
        found = shutil.which("nginx") or "/usr/sbin/nginx"
        if Path(found).exists():
            return found
    raise ServerError(
        "Cluster mode needs nginx: `sudo apt-get install nginx` (Debian's package), then rerun."
    )


def _sub(text: str, pattern: str, repl: str, *, flags: int = re.MULTILINE) -> str:
    new, n = re.subn(pattern, repl, text, flags=flags)
    if not n:
        raise ServerError(
            f"{NGINX_SITE.relative_to(REPO)} no longer matches {pattern!r}: update bench/server.py"
        )
    return new


def nginx_config(
    *, sockets: list[Path], port: int, workdir: Path, limits_per_address: bool = False
) -> str:
    """deploy/nginx/productbreaks.conf on 127.0.0.1:port without TLS, inside a main config.

    The only addition: nginx names the daphne process that took each websocket (X-Upstream), so
    the bench can show a vote through either process reaching the sockets on both. Unless
    `limits_per_address`, the per-address limits count per connection instead: every bench
    "phone" comes from 127.0.0.1, where thousands of real ones would come from many networks.
    """
    site = NGINX_SITE.read_text()
    if not limits_per_address:
        site = _sub(
            site,
            r"(limit_(?:req|conn)_zone )\$binary_remote_addr",
            r"\1$binary_remote_addr$remote_port",
        )
    site = _sub(site, r"^# -- plain HTTP.*?\(bench: skip-end\)\n", "", flags=re.S | re.M)
    servers = "".join(f"    server unix:{path} max_fails=3 fail_timeout=5s;\n" for path in sockets)
    site = _sub(site, r"(^\s*server unix:/run/productbreaks/[^\n]*\n)+", servers)
    site = _sub(
        site,
        r"^\s*listen 443[^\n]*\n\s*listen \[::\]:443[^\n]*\n",
        f"    listen 127.0.0.1:{port};\n",
    )
    site = _sub(site, r"^\s*ssl_[^\n]*\n", "")
    site = _sub(site, r"server_name [^;]+;", "server_name 127.0.0.1 localhost;")
    site = _sub(site, r"alias /srv/productbreaks/staticfiles/;", f"alias {workdir}/staticfiles/;")
    site = _sub(
        site,
        r"(location /ws/ \{\n)",
        r"\1        add_header X-Upstream $upstream_addr always;\n",
    )
    main = NGINX_MAIN.read_text()
    user = "user root;\n" if os.geteuid() == 0 else ""
    return (
        f"{main}\n{user}daemon off;\npid {workdir}/nginx.pid;\nerror_log stderr warn;\n"
        f"http {{\n    access_log off;\n    client_body_temp_path {workdir}/body;\n"
        f"    proxy_temp_path {workdir}/proxy;\n{site}\n}}\n"
    )


@dataclass
class Server:
    """A running server under test: its URL, its daphne processes, its database."""

    mode: str
    url: str
    env: dict[str, str]
    daphne: list[Daphne] = field(default_factory=list)
    others: list[subprocess.Popen] = field(default_factory=list)
    workdir: Path | None = None
    database_url: str = ""
    sqlite_path: str = ""
    _cleanup: list = field(default_factory=list)

    @property
    def origin(self) -> str:
        return self.url

    @property
    def ws_base(self) -> str:
        return "ws" + self.url.removeprefix("http")

    @property
    def procs(self) -> list[ProcSample]:
        return [ProcSample(d.proc.pid) for d in self.daphne]

    def manage(self, *args: str) -> str:
        return manage(self.env, *args)

    def script(self, code: str) -> object:
        """Django code run on the server's database; the JSON it prints last."""
        return django_script(self.env, code)

    def fixture(self, **options: object) -> dict:
        """An event with an open poll, made through the project's own services."""
        out = run_python(
            self.env,
            ["-m", "bench.fixture", json.dumps(options)],
            what="bench.fixture",
            timeout=120,
        )
        return json.loads(out.strip().splitlines()[-1])

    def recount(self, poll_id: int) -> tuple[dict[str, int], int]:
        """Votes per side and the poll's version, read from the database itself."""
        rows = self.query(
            "SELECT side, COUNT(*) FROM debates_vote WHERE poll_id = %s GROUP BY side", (poll_id,)
        )
        [(version,)] = self.query("SELECT version FROM debates_poll WHERE id = %s", (poll_id,))
        counts = {"for": 0, "against": 0, "undecided": 0} | dict(rows)
        return counts, int(version)

    def log_tails(self, lines: int = 25) -> str:
        """The end of each process's log, for an error message."""
        if self.workdir is None:
            return ""
        out = []
        for path in sorted(self.workdir.glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            if text:
                out.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(out)

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Rows from the server's database; write %s for parameters."""
        if self.sqlite_path:
            with sqlite3.connect(self.sqlite_path, timeout=30) as conn:
                return conn.execute(sql.replace("%s", "?"), params).fetchall()
        import psycopg

        with psycopg.connect(self.database_url) as conn:
            return conn.execute(sql, params).fetchall()

    def check_alive(self) -> None:
        for proc in [*(d.proc for d in self.daphne), *self.others]:
            if proc.poll() is not None:
                raise ServerError(f"{proc.args[0]} exited with {proc.returncode}")

    def stop(self) -> None:
        for proc in self.others:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.others:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for daphne in self.daphne:
            daphne.stop()
        for daphne in self.daphne:
            # The work directory goes with the cleanup: a log with failures in it is kept.
            if errors := daphne.errors():
                kept = (
                    Path(tempfile.gettempdir()) / f"pb-bench-{daphne.name}-{int(time.time())}.log"
                )
                shutil.copy(daphne.log_path, kept)
                sys.stderr.write(
                    f"[bench] {daphne.name} logged {len(errors)} failure lines; log kept: {kept}\n"
                )
        for fn in reversed(self._cleanup):
            fn()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _base_env(workdir: Path, **extra: str) -> dict[str, str]:
    # Every bench "phone" comes from 127.0.0.1, where thousands of real ones would come from
    # many networks: the per-network join budget (events.admission) would queue them all.
    # Static files are collected into the server's own directory: the checkout's may be in use
    # (the test suite runs the bench beside other tests).
    return server_env(
        JOIN_BUDGET_BURST="1000000", STATIC_ROOT=str(workdir / "staticfiles"), **extra
    )


def _wait_http(url: str, procs: list[subprocess.Popen], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise ServerError(f"{proc.args[0]} exited with {proc.returncode} at start")
        try:
            with urllib.request.urlopen(url + "/join/", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise ServerError(f"{url} did not answer within {timeout:.0f} s")


# The group_send baseline is its own ASGI application (bench/baseline.py), never the product's.
FANOUT_APPS = {"group_send": "bench.baseline:application"}


def _log(workdir: Path, name: str):
    return open(workdir / f"{name}.log", "wb")


def start_embedded(*, fanout: str = "", port: int = 0) -> Server:
    """One daphne process, SQLite (WAL) in a temporary directory, the in-memory layer."""
    raise_nofile()
    workdir = Path(tempfile.mkdtemp(prefix="pb-bench-"))
    sqlite_path = str(workdir / "db.sqlite3")
    env = _base_env(workdir, SQLITE_PATH=sqlite_path)
    daphne = Daphne(
        env,
        port=port or free_port(),
        log_path=workdir / "daphne.log",
        app=FANOUT_APPS.get(fanout, ""),
    )
    server = Server(
        mode="embedded", url=daphne.url, env=env, workdir=workdir, sqlite_path=sqlite_path
    )
    server._cleanup.append(lambda: shutil.rmtree(workdir, ignore_errors=True))
    try:
        server.manage("migrate", "--noinput")
        server.manage("collectstatic", "--noinput", "-v0")  # the manifest WhiteNoise serves
        server.daphne.append(daphne.start())
        _wait_http(server.url, [daphne.proc])
    except ServerError as exc:
        tails = server.log_tails()
        server.stop()
        raise ServerError(f"{exc}\n{tails}") from None
    except BaseException:
        server.stop()
        raise
    return server


def start_cluster(
    *,
    processes: int = 2,
    fanout: str = "",
    database_url: str = "",
    redis_url: str = "",
    port: int = 0,
    limits_per_address: bool = False,
) -> Server:
    """N daphne processes (the systemd unit's command) on PostgreSQL and Redis, behind nginx.
    `limits_per_address`: nginx's limits as deployed (see nginx_config).

    A fresh PostgreSQL database is created next to `database_url` (or used as is when
    database_url names one already made for the caller) and dropped afterwards.
    """
    import psycopg
    import redis

    raise_nofile()
    nginx = nginx_binary()
    workdir = Path(tempfile.mkdtemp(prefix="pb-cluster-"))
    workdir.chmod(0o755)
    cleanup: list = [lambda: shutil.rmtree(workdir, ignore_errors=True)]

    owns_database = not database_url
    if owns_database:
        admin = DEFAULT_DATABASE_URL
        name = f"pb_bench_{secrets.token_hex(6)}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        database_url = urlparse(admin)._replace(path=f"/{name}").geturl()

        def drop() -> None:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        cleanup.append(drop)
    redis_url = redis_url or DEFAULT_REDIS_URL
    redis.Redis.from_url(redis_url).flushdb()
    cleanup.append(lambda: redis.Redis.from_url(redis_url).flushdb())

    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    env = _base_env(
        workdir,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SERVE_STATIC="1",
        CSRF_TRUSTED_ORIGINS=url,
    )
    server = Server(mode="cluster", url=url, env=env, workdir=workdir, database_url=database_url)
    server._cleanup.extend(cleanup)
    try:
        server.manage("migrate", "--noinput")
        server.manage("collectstatic", "--noinput", "-v0")  # the manifest WhiteNoise serves
        sockets = []
        for instance in range(1, processes + 1):
            name = f"daphne-{instance}"
            daphne = Daphne(
                env,
                name=name,
                runtime_dir=workdir,
                instance=instance,
                log_path=workdir / f"{name}.log",
                app=FANOUT_APPS.get(fanout, ""),
            )
            server.daphne.append(daphne)
            daphne.start()
            sockets.append(daphne.unix_socket)
        conf = workdir / "nginx.conf"
        conf.write_text(
            nginx_config(
                sockets=sockets, port=port, workdir=workdir, limits_per_address=limits_per_address
            )
        )
        check = subprocess.run(
            [nginx, "-t", "-p", str(workdir), "-e", "stderr", "-c", str(conf)],
            capture_output=True,
            text=True,
        )
        if check.returncode:
            raise ServerError(f"nginx -t failed:\n{check.stderr}")
        server.others.append(
            subprocess.Popen(
                [nginx, "-p", str(workdir), "-e", "stderr", "-c", str(conf)],
                preexec_fn=child_setup(),
                stdout=_log(workdir, "nginx"),
                stderr=subprocess.STDOUT,
            )
        )
        _wait_http(server.url, [*(d.proc for d in server.daphne), *server.others])
    except ServerError as exc:
        tails = server.log_tails()
        server.stop()
        raise ServerError(f"{exc}\n{tails}") from None
    except BaseException:
        server.stop()
        raise
    return server
