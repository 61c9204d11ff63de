"""A real Celery worker for tests, on this worktree's own Redis database as the broker.

Other suites' workers listen on other databases, so they can neither steal our tasks nor hand
us theirs. Unlike tests/notifications' fixture this one can be killed (SIGKILL, as a crash
or an OOM kill would) and started again within one test.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from kombu import Queue

from config.celery import app as celery_app
from config.devstack import WORKER_QUIET
from tests.notifications.conftest import drop_broker_pools, worker_database_url

QUEUES = ("celery", "notifications")


def broker_url() -> str:
    """Our Redis database (REDIS_URL's, e.g. /6 for worktree wt6) as the broker."""
    return str(settings.REDIS_URL)


def purge(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        client.delete(*QUEUES, "unacked", "unacked_index", *client.scan_iter("_kombu.*"))
    finally:
        client.close()


class Worker:
    def __init__(self, url: str, log_dir: Path, *, queues: tuple[str, ...], env: dict[str, str]):
        self.url, self.log_dir, self.queues, self.env = url, log_dir, queues, env
        self.process: subprocess.Popen[bytes] | None = None
        self.started = 0

    @property
    def log(self) -> Path:
        return self.log_dir / f"worker-{self.started}.log"

    def start(self) -> None:
        self.started += 1
        name = f"wt-test-{os.getpid()}-{self.started}@%h"
        env = {
            **os.environ,
            "DATABASE_URL": worker_database_url(),
            "DB_CONN_MAX_AGE": "0",
            "CELERY_BROKER_URL": self.url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "DEBUG": "1",
            **self.env,
        }
        command = [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "config",
            "worker",
            "-Q",
            ",".join(self.queues),
            "--pool",
            "solo",
            "-l",
            os.environ.get("TEST_WORKER_LOG_LEVEL", "warning"),
            "-n",
            name,
            *WORKER_QUIET,
        ]
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(  # noqa: S603 - our own fixed command
                command, cwd=settings.BASE_DIR, env=env, stdout=output, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        node = name.replace("%h", socket.gethostname())
        while not celery_app.control.ping(destination=[node], timeout=0.5):
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"The Celery worker did not come up:\n{self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, the task in hand is cut off mid-way."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=15)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def logs(self) -> str:
        return "\n".join(
            p.read_text() for p in sorted(self.log_dir.glob("worker-*.log")) if p.exists()
        )


@contextlib.contextmanager
def worker_running(
    url: str, log_dir: Path, *, queues: tuple[str, ...], env: dict[str, str]
) -> Iterator[Worker]:
    """A started worker, stopped afterwards even when starting it fails or times out."""
    worker = Worker(url, log_dir, queues=queues, env=env)
    try:
        worker.start()
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def own_broker() -> Iterator[str]:
    url = broker_url()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CELERY_BROKER_URL", url)
        drop_broker_pools()
        purge(url)
        with celery_app.connection_for_write() as connection:
            for name in QUEUES:
                Queue(name, channel=connection.default_channel).purge()
        try:
            yield url
        finally:
            drop_broker_pools()
            purge(url)


def wait_for(condition: object, *, timeout: float, worker: Worker, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if not worker.alive():
            pytest.fail(f"The worker died waiting for {what}:\n{worker.logs()}")
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out waiting for {what}:\n{worker.logs()}")
        time.sleep(0.2)
