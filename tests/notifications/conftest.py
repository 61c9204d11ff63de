"""Real collaborators for the delivery pipeline: an SMTP server (aiosmtpd) that can refuse or
stall, a Redis database of our own as the broker, Celery workers in subprocesses that a test can
kill -9 and restart, and a local HTTP server that receives webhooks and SMS gateway calls."""

import asyncio
import email
import email.policy
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
import redis
from aiosmtpd.controller import Controller
from django.conf import settings
from kombu import Queue

from config.celery import app as celery_app
from config.devstack import WORKER_QUIET
from notifications.services import broker_breaker, relay_schedule

WORKER_QUEUES = ("celery", "notifications", "webhooks")


@pytest.fixture(autouse=True)
def _broker_breaker_closed() -> Iterator[None]:
    """A broker outage in one test must not make the next one skip publishing, nor a relay
    task published to the last test's (purged) broker."""
    broker_breaker.reset()
    relay_schedule.forget()
    yield
    broker_breaker.reset()
    relay_schedule.forget()


BROKER_CLAIM_KEY = "boxoffice:test-broker-owner"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], bool], *, timeout: float, what: str, log: Path | None = None):
    """Poll until `predicate()`; fail with the worker log when it never comes."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            detail = f"\n--- worker log ---\n{log.read_text()}" if log and log.exists() else ""
            pytest.fail(f"Timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(0.1)


# --- SMTP ------------------------------------------------------------------------------------


@dataclass
class Inbox:
    """What the SMTP server accepted, parsed; it can refuse (451) or stall on request."""

    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    refuse_next: int = 0  # answer 451 to this many DATA commands
    refused: int = 0
    stall_rcpt: threading.Event | None = None  # while set... see handle_RCPT
    stalled: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.stall_rcpt is not None and not self.stall_rcpt.is_set():
            # Hold the sender here, before any message data: "in the middle of a delivery".
            self.stalled.set()
            while not self.stall_rcpt.is_set():
                await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.refuse_next > 0:
                self.refuse_next -= 1
                self.refused += 1
                return "451 4.3.0 Mail server temporarily unavailable"
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            self.messages.append(message)
            self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m, r in zip(self.messages, self.recipients, strict=True) if address in r]


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    if inbox.stall_rcpt is not None:
        inbox.stall_rcpt.set()
    controller.stop()


# --- HTTP receiver (webhooks, SMS gateway) -----------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpReceiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    # Status codes to answer, in order; 200 once they run out.
    script: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def json(self, index: int) -> Any:
        return json.loads(self.requests[index].body)


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    port = free_port()
    receiver = HttpReceiver(url=f"http://127.0.0.1:{port}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
                status = receiver.script.pop(0) if receiver.script else 200
            payload = json.dumps({"id": f"gw-{len(receiver.requests)}"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


# --- Broker and workers ------------------------------------------------------------------------


def drop_broker_pools() -> None:
    """Forget the app's pooled broker connections, so the next message goes to the current URL.

    Celery keeps a connection pool on the app and a producer pool on `app.amqp`, both made on
    first use (an eager task makes them too); `Celery.close()` would drop only the first.
    """
    vars(celery_app)["_pool"] = None
    vars(celery_app.amqp)["_producer_pool"] = None


def use_broker(url: str, patch: pytest.MonkeyPatch) -> None:
    # Celery reads CELERY_BROKER_URL from the environment before its configuration.
    patch.setenv("CELERY_BROKER_URL", url)
    drop_broker_pools()


def databases_of_test_processes() -> set[int]:
    """The Redis databases this run's test processes use as their own: under `pytest -n`,
    config/settings.py gives process gwN the database after gw(N-1)'s."""
    own = int(urlsplit(settings.REDIS_URL).path.strip("/") or 0)
    index = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    return set(range(own - index, own - index + count))


@pytest.fixture
def private_broker() -> Iterator[str]:
    """A Redis database of our own as the broker, purged.

    On a shared server a `make run` worker, or another suite's worker, would otherwise take our
    task (and we theirs). Databases 0 and 1 belong to `make run` and `make test`; a key claims
    one of the others for the length of this test, and under `pytest -n` the test processes'
    own databases are left out too.
    """
    base = urlsplit(celery_app.conf.broker_url)
    owner = f"{settings.DATABASES['default']['NAME']}:{os.getpid()}"
    for number in range(2, 16):
        if number in databases_of_test_processes():
            continue
        url = urlunsplit(base._replace(path=f"/{number}"))
        client = redis.Redis.from_url(url)
        if client.set(BROKER_CLAIM_KEY, owner, nx=True, ex=600):
            break
        client.close()
    else:
        pytest.fail("No Redis database free for a private broker: 2 to 15 are all claimed.")
    try:
        with pytest.MonkeyPatch.context() as patch:
            use_broker(url, patch)
            with celery_app.connection_for_write() as connection:
                for name in WORKER_QUEUES:  # leftovers of an interrupted run
                    Queue(name, channel=connection.default_channel).purge()
            yield url
    finally:
        drop_broker_pools()
        kombu_keys = list(client.scan_iter("_kombu.*"))
        client.delete(*WORKER_QUEUES, "unacked", "unacked_index", *kombu_keys, BROKER_CLAIM_KEY)
        client.close()


def worker_database_url() -> str:
    db = settings.DATABASES["default"]
    credentials = quote(db["USER"], safe="") + (
        ":" + quote(db["PASSWORD"], safe="") if db["PASSWORD"] else ""
    )
    return f"postgres://{credentials}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path
    node: str

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill_9(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if not self.alive():
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


WorkerFactory = Callable[..., Worker]


@pytest.fixture
def start_worker(
    transactional_db: None, private_broker: str, smtp_server: tuple[Inbox, int], tmp_path: Path
) -> Iterator[WorkerFactory]:
    """Start `celery worker` subprocesses on the test database; all stopped at the end."""
    started: list[Worker] = []

    def start(broker: str | None = None, concurrency: int = 0, **env: str) -> Worker:
        number = len(started) + 1
        name = f"boxoffice-test-{os.getpid()}-{number}@%h"
        environ = {
            **os.environ,
            "DATABASE_URL": worker_database_url(),
            "DB_CONN_MAX_AGE": "0",  # no idle connection left to block the test database's flush
            "CELERY_BROKER_URL": broker or private_broker,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_server[1]}",
            "DEBUG": "1",
            "WEBHOOK_ALLOW_HTTP": "1",
            "NOTIFICATIONS_RETRY_BASE_SECONDS": "0.3",
            **env,
        }
        pool = ["--pool", "solo"] if not concurrency else ["--concurrency", str(concurrency)]
        command = [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "config",
            "worker",
            "-Q",
            ",".join(WORKER_QUEUES),
            *pool,
            "-l",
            os.environ.get("TEST_WORKER_LOG_LEVEL", "info"),
            "-n",
            name,
            *WORKER_QUIET,
        ]
        log = tmp_path / f"worker-{number}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(  # noqa: S603 - our own fixed command
                command, cwd=settings.BASE_DIR, env=environ, stdout=output, stderr=subprocess.STDOUT
            )
        worker = Worker(process, log, name.replace("%h", socket.gethostname()))
        started.append(worker)
        deadline = time.monotonic() + 60
        while not celery_app.control.ping(destination=[worker.node], timeout=0.5):
            if not worker.alive() or time.monotonic() > deadline:
                pytest.fail(f"The Celery worker did not come up:\n{log.read_text()}")
        return worker

    yield start
    for worker in started:
        worker.stop()
