"""The confirmation email as production sends it: a real Celery worker, delivered over SMTP."""

import email
import email.policy
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
import redis
from aiosmtpd.controller import Controller
from django.conf import settings
from kombu import Queue

from accounts.models import User
from config.celery import app as celery_app
from events.models import TicketTier
from tests.factories import order_paid
from tests.qr import qr_texts

WORKER_QUEUES = ("celery", "notifications")
BROKER_CLAIM_KEY = "boxoffice:test-broker-owner"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Inbox:
    """What the SMTP server received, parsed."""

    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def drop_broker_pools() -> None:
    """Forget the app's pooled broker connections, so the next message goes to the current URL.

    Celery keeps a connection pool on the app and a producer pool on `app.amqp`, both made on
    first use (an eager task makes them too); `Celery.close()` would drop only the first.
    """
    vars(celery_app)["_pool"] = None
    vars(celery_app.amqp)["_producer_pool"] = None


@pytest.fixture
def private_broker() -> Iterator[str]:
    """A Redis database of our own as the broker, purged.

    On a shared server a `make run` worker, or another suite's worker, would otherwise take our
    task (and we theirs). Databases 0 and 1 belong to `make run` and `make test`; a key claims
    one of the others for the length of this test.
    """
    base = urlsplit(celery_app.conf.broker_url)
    owner = f"{settings.DATABASES['default']['NAME']}:{os.getpid()}"
    for number in range(2, 16):
        url = urlunsplit(base._replace(path=f"/{number}"))
        client = redis.Redis.from_url(url)
        if client.set(BROKER_CLAIM_KEY, owner, nx=True, ex=600):
            break
        client.close()
    else:
        pytest.fail("No Redis database free for a private broker: 2 to 15 are all claimed.")
    try:
        # Celery reads CELERY_BROKER_URL from the environment before its configuration.
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("CELERY_BROKER_URL", url)
            drop_broker_pools()
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


@pytest.fixture
def celery_worker(
    transactional_db: None, private_broker: str, smtp_server: tuple[Inbox, int], tmp_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`celery worker` in a subprocess on the test database; always stopped, even on failure."""
    name = f"boxoffice-test-{os.getpid()}@%h"
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "DB_CONN_MAX_AGE": "0",  # no idle connection left to block the test database's flush
        "CELERY_BROKER_URL": private_broker,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_server[1]}",
        "DEBUG": "1",
    }
    command = [
        str(Path(sys.executable).parent / "celery"),
        "-A",
        "config",
        "worker",
        "-Q",
        ",".join(WORKER_QUEUES),
        "--pool",
        "solo",
        "-l",
        os.environ.get("TEST_WORKER_LOG_LEVEL", "warning"),
        "-n",
        name,
        "--without-gossip",
        "--without-mingle",
    ]
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        worker = subprocess.Popen(  # noqa: S603 - our own fixed command
            command, cwd=settings.BASE_DIR, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        node = name.replace("%h", socket.gethostname())
        while not celery_app.control.ping(destination=[node], timeout=0.5):
            if worker.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"The Celery worker did not come up:\n{log.read_text()}")
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


@pytest.mark.real_celery
@pytest.mark.django_db(transaction=True)
def test_paid_order_is_emailed_with_its_qr_codes_by_the_worker(
    celery_worker: subprocess.Popen[bytes],
    smtp_server: tuple[Inbox, int],
    attendee: User,
    tier: TicketTier,
    tmp_path: Path,
) -> None:
    inbox, _ = smtp_server
    tickets = order_paid(buyer=attendee, tier=tier, quantity=2).tickets

    deadline = time.monotonic() + 30
    while not inbox.messages:
        assert celery_worker.poll() is None, (tmp_path / "worker.log").read_text()
        assert time.monotonic() < deadline, (
            "No email within 30 s:\n" + (tmp_path / "worker.log").read_text()
        )
        time.sleep(0.2)
    time.sleep(1)  # a second copy (a task run twice) would arrive about now

    assert len(inbox.messages) == 1
    assert inbox.recipients == [[attendee.email]]
    message = inbox.messages[0]
    assert message["Subject"] == f"Your tickets for {tier.event.title}"
    assert message["To"] == attendee.email
    pngs = [
        part.get_content()
        for part in message.iter_attachments()
        if part.get_content_type() == "image/png"
    ]
    assert len(pngs) == 2
    decoded = sorted(text for png in pngs for text in qr_texts(png))
    assert decoded == sorted(ticket.qr_payload for ticket in tickets)
