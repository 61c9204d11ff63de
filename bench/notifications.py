"""Notifications: reminder emails for N ticket holders through the real pipeline to an SMTP sink.

    .venv/bin/python bench/notifications.py                      # N=10,000, one worker, 2 processes
    .venv/bin/python bench/notifications.py --recipients 2000 --concurrency 4

Outbox row (the reminder beat job) -> fan-out task -> deliveries -> Celery workers (prefork) ->
SMTP (aiosmtpd in this process, counting). Its own database (`boxoffice_bench_notifications`,
dropped and recreated) and its own Redis database (14, flushed) on the devstack servers or the
ones in DATABASE_URL / REDIS_URL. Prints one JSON object on stdout; bench/README.md explains it.
Exit status 1 if any holder got no email or any got two.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench.servers import free_port, logger  # noqa: E402 - after the sys.path fix above
from config.devstack import WORKER_QUIET  # noqa: E402 - after the sys.path fix above

BIN = Path(sys.executable).parent
DB_NAME = "boxoffice_bench_notifications"
REDIS_DB = 14


log = logger("notifications")


class Sink:
    """An SMTP server that parses just enough of each message to count it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[tuple[float, str, str]] = []  # (arrival, recipient, Message-ID)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        headers = email.message_from_bytes(
            envelope.content.split(b"\r\n\r\n", 1)[0], policy=email.policy.default
        )
        with self.lock:
            for recipient in envelope.rcpt_tos:
                self.received.append((time.monotonic(), recipient, str(headers["Message-ID"])))
        return "250 OK"


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def recreate_database(url: str) -> None:
    import psycopg

    admin = with_database(url, "postgres")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{DB_NAME}"')


def drop_database(url: str) -> None:
    import psycopg

    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def seed(recipients: int) -> Any:
    """An event starting in 23 h 50 min and `recipients` holders with one ticket each."""
    from django.utils import timezone

    from accounts.models import Organization
    from events.models import Event, TicketTier, Venue
    from tests.notifications.helpers import holders_with_tickets

    organization = Organization.objects.create(name="Bench", slug=f"bench-{uuid.uuid4().hex[:6]}")
    venue = Venue.objects.create(organization=organization, name="Hall", city="Vienna")
    starts = timezone.now() + timedelta(hours=23, minutes=50)
    event = Event.objects.create(
        organization=organization,
        title="Bench Night",
        slug="bench-night",
        venue=venue,
        starts_at=starts,
        ends_at=starts + timedelta(hours=3),
        time_zone="Europe/Vienna",
        status=Event.Status.PUBLISHED,
    )
    tier = TicketTier.objects.create(event=event, name="GA", price=10, capacity=recipients)
    for start in range(0, recipients, 5000):
        holders_with_tickets(event, tier, min(5000, recipients - start))
    return event


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument("--batch-size", type=int, default=50, help="deliveries per task")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    from config.devstack import stack

    with stack(redis_db=REDIS_DB) as environ:
        database_url = with_database(environ["DATABASE_URL"], DB_NAME)
        redis_url = urlunsplit(urlsplit(environ["REDIS_URL"])._replace(path=f"/{REDIS_DB}"))
        recreate_database(environ["DATABASE_URL"])
        sink, port = Sink(), free_port()
        from aiosmtpd.controller import Controller

        controller = Controller(sink, hostname="127.0.0.1", port=port)
        controller.start()
        env = {
            **environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            "CACHE_KEY_PREFIX": "bench-notifications",
            "EMAIL_URL": f"smtp://127.0.0.1:{port}",
            "NOTIFICATIONS_BATCH_SIZE": str(args.batch_size),
            "DEBUG": "1",
            "LOG_LEVEL": "WARNING",
        }
        os.environ.update(env)
        subprocess.run(
            [str(BIN / "python"), "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=BASE_DIR,
            env=env,
            check=True,
        )
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        from notifications.models import Delivery
        from notifications.services import reminders_record

        log(f"seeding {args.recipients} ticket holders")
        seed(args.recipients)
        worker = subprocess.Popen(
            [
                str(BIN / "celery"),
                "-A",
                "config",
                "worker",
                "-Q",
                "celery,notifications,webhooks",
                "--concurrency",
                str(args.concurrency),
                "-l",
                "warning",
                *WORKER_QUIET,
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=sys.stderr,
            stderr=sys.stderr,
        )
        try:
            from config.celery import app

            deadline = time.monotonic() + 60
            while not app.control.ping(timeout=0.5):
                if time.monotonic() > deadline or worker.poll() is not None:
                    log("the worker did not come up")
                    return 1
            log("workers up; recording the reminder (the beat job)")
            started = time.monotonic()
            recorded = reminders_record()
            reminders_record()  # beat running twice changes nothing
            deadline = started + args.timeout
            while len(sink.received) < args.recipients and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(2)  # duplicates would arrive about now
        finally:
            worker.terminate()
            worker.wait(timeout=60)
            controller.stop()

        received = list(sink.received)
        per_recipient = Counter(recipient for _, recipient, _ in received)
        arrivals = sorted(at for at, _, _ in received)
        last = (arrivals[-1] - started) if arrivals else None
        sent = Delivery.objects.filter(channel="email", status="sent").count()
        missing = args.recipients - len(per_recipient)
        duplicates = sum(n - 1 for n in per_recipient.values() if n > 1)
        result = {
            "recipients": args.recipients,
            "messages_recorded": recorded,
            "emails_received": len(received),
            "missing": missing,
            "duplicates": duplicates,
            "deliveries_sent_in_db": sent,
            "first_email_after_s": round(arrivals[0] - started, 3) if arrivals else None,
            "last_email_after_s": round(last, 3) if last is not None else None,
            "emails_per_second": round(len(received) / last, 1) if last else None,
            "worker_processes": args.concurrency,
            "batch_size": args.batch_size,
            "cpu_count": os.cpu_count(),
        }
        if not args.keep_db:
            from django.db import connections

            connections.close_all()
            drop_database(environ["DATABASE_URL"])
        redis.Redis.from_url(redis_url).flushdb()
    print(json.dumps(result))
    return 0 if missing == 0 and duplicates == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
