"""The bench's own servers: a durable PostgreSQL, a Redis, an SMTP sink and the Celery processes.

The devstack PostgreSQL runs with `fsync=off` for fast tests; a benchmark on it would flatter
every write. `durable_postgres` starts a separate cluster (the same embedded binaries) with
`fsync` and `synchronous_commit` on, as a production database runs. Its data lives under the
system temp directory, is reused across runs and is stopped when the bench ends.

Everything here also reads CPU time from /proc per process tree, which does not depend on what
else the machine is doing: the figure a shared box can still measure honestly.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TICK = os.sysconf("SC_CLK_TCK")
# The confirmation mail names its order in this header (notifications.content.ORDER_HEADER);
# the sink matches arrivals by it.
ORDER_HEADER = "X-Boxoffice-Order"


def logger(name: str) -> Callable[[str], None]:
    """A bench's progress lines on stderr, `[name] ...` (stdout carries only the JSON)."""

    def log(message: str) -> None:
        print(f"[{name}] {message}", file=sys.stderr, flush=True)

    return log


log = logger("bench")


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# BENCH_PORTS="59000-59499": every server the bench starts (PostgreSQL, Redis, gunicorn, the
# SMTP sink) takes its port from this one range instead of the defaults, so benches of several
# checkouts on one machine keep out of each other's way.
PORTS_VARIABLE = "BENCH_PORTS"
_handed_out: set[int] = set()


def port_range(first: int, last: int) -> tuple[int, int]:
    """[first, last], or the range BENCH_PORTS sets."""
    configured = os.environ.get(PORTS_VARIABLE, "").strip()
    if not configured:
        return first, last
    low, _, high = configured.partition("-")
    return int(low), int(high or low)


def free_port_in(first: int, last: int) -> int:
    """A port of [first, last] (or of BENCH_PORTS) nobody listens on, each handed out once."""
    first, last = port_range(first, last)
    for port in range(first, last + 1):
        if port not in _handed_out and port_free(port):
            _handed_out.add(port)
            return port
    raise SystemExit(f"no free port in {first}-{last}")


def free_port() -> int:
    """A free port of BENCH_PORTS when it is set, else one the system picks."""
    if os.environ.get(PORTS_VARIABLE, "").strip():
        return free_port_in(0, 0)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        with socket.socket() as sock:
            sock.settimeout(1)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not come up on port {port}")
        time.sleep(0.2)


# --- CPU accounting from /proc ----------------------------------------------------------------


def stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # fields from 3 (state) on


def process_cpu_s(pid: int, *, with_reaped_children: bool = False) -> float:
    fields = stat_fields(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if with_reaped_children:  # children that exited (recycled workers, closed backends)
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICK


def backend_cpu_s() -> float:
    """CPU seconds of the PostgreSQL backend behind this process's default Django connection."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    return process_cpu_s(pid)


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = stat_fields(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process, its live descendants and every child it has reaped."""
    return process_cpu_s(pid, with_reaped_children=True) + sum(
        tree_cpu_s(child) for child in children_of(pid)
    )


# --- PostgreSQL with production durability ----------------------------------------------------


@contextlib.contextmanager
def durable_postgres(port: int) -> Iterator[tuple[str, int]]:
    """A PostgreSQL cluster with fsync and synchronous_commit on; yield (url, postmaster pid)."""
    from config import devstack

    pgdata = Path(tempfile.gettempdir()) / f"boxoffice_bench_pg_{port}"
    if not port_free(port):
        raise SystemExit(f"port {port} is taken; pass --pg-port")
    log(f"starting PostgreSQL (fsync=on, synchronous_commit=on) on 127.0.0.1:{port}")
    # Production durability; the rest is a modest production-like configuration.
    devstack.pg_cluster_start(
        pgdata,
        port,
        "-c max_connections=300 -c fsync=on -c synchronous_commit=on -c full_page_writes=on "
        "-c shared_buffers=256MB",
    )
    try:
        postmaster = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        yield f"postgres://postgres@127.0.0.1:{port}/postgres", postmaster
    finally:
        devstack.pg_cluster_stop(pgdata)


def postgres_settings(url: str) -> dict[str, str]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN "
            "('fsync', 'synchronous_commit', 'full_page_writes', 'server_version')"
        ).fetchall()
    return dict(rows)


@contextlib.contextmanager
def own_redis(port: int) -> Iterator[tuple[str, int]]:
    """A Redis of the bench's own, no persistence (a broker and cache); yield (url, pid)."""
    from config.devstack import redis_server_binary

    if not port_free(port):
        raise SystemExit(f"port {port} is taken; pass --redis-port")
    folder = Path(tempfile.gettempdir()) / f"boxoffice_bench_redis_{port}"
    folder.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            redis_server_binary(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
            "--logfile",
            str(folder / "redis.log"),
        ],
        start_new_session=True,
    )
    try:
        wait_for_port(port, "Redis")
        yield f"redis://127.0.0.1:{port}/0", process.pid
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen[Any], timeout: float = 30) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# --- Celery worker and beat -------------------------------------------------------------------


@contextlib.contextmanager
def celery_processes(
    environ: dict[str, str], *, concurrency: int, log_path: Path
) -> Iterator[list[int]]:
    """A Celery worker (prefork, every queue) and beat, as `make run` starts them."""
    from config.devstack import WORKER_QUIET

    schedule = Path(tempfile.gettempdir()) / f"boxoffice_bench_beat_{os.getpid()}"
    celery = str(BIN / "celery")
    commands = [
        [
            celery,
            "-A",
            "config",
            "worker",
            "-l",
            "info",
            "-Q",
            "celery,notifications,webhooks",
            "--concurrency",
            str(concurrency),
            "-n",
            f"bench-{os.getpid()}@%h",
            *WORKER_QUIET,
        ],
        [celery, "-A", "config", "beat", "-l", "info", "--schedule", str(schedule)],
    ]
    processes = []
    with log_path.open("ab") as log_file:
        for command in commands:
            processes.append(
                subprocess.Popen(
                    command,
                    env=environ,
                    cwd=BASE_DIR,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    try:
        yield [process.pid for process in processes]
    finally:
        for process in processes:
            stop_process(process)
        for leftover in schedule.parent.glob(schedule.name + "*"):
            leftover.unlink(missing_ok=True)


def worker_ready(log_path: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while "ready." not in (log_path.read_text(errors="replace") if log_path.exists() else ""):
        if time.monotonic() > deadline:
            raise SystemExit(f"the Celery worker did not start; see {log_path}")
        time.sleep(0.3)


# --- The SMTP sink ----------------------------------------------------------------------------


@dataclass
class MailSink:
    """An SMTP server that records, per message, its arrival time and the order it names."""

    arrivals: list[tuple[float, str]] = field(default_factory=list)  # (time.time(), order id)
    other: int = 0  # messages without the order header
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        arrived = time.time()
        head = envelope.content.split(b"\r\n\r\n", 1)[0]
        headers = email.message_from_bytes(head, policy=email.policy.compat32)
        order_id = headers.get(ORDER_HEADER)
        with self.lock:
            if order_id:
                self.arrivals.append((arrived, str(order_id).strip()))
            else:
                self.other += 1
        return "250 OK"

    def orders(self) -> set[str]:
        with self.lock:
            return {order_id for _, order_id in self.arrivals}

    def reset(self) -> None:
        with self.lock:
            self.arrivals.clear()
            self.other = 0


@contextlib.contextmanager
def mail_sink(port: int) -> Iterator[MailSink]:
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # a line per SMTP command otherwise
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port, data_size_limit=0)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
