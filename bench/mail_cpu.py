"""CPU of one order confirmation in the worker and its PostgreSQL backend, without Celery.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/mail_cpu.py          # 300 mails
    .venv/bin/python bench/mail_cpu.py --mails 500 --profile 2> profile.txt      # + cProfile

Buys `--mails` tickets through the booking services, then does what a Celery worker does with
their outbox rows (`outbox_relay`, then `deliveries_send` in batches of
NOTIFICATIONS_BATCH_SIZE), in this thread, to an aiosmtpd sink in another thread of this
process. The figures are the CPU time of this thread (`time.thread_time()`, so the sink is
left out) and of its PostgreSQL backend (`/proc`), per mail. A first batch of 20 warms the
process up (the URL configuration, templates, the SMTP connection), as a long-running worker
is. It leaves its event, buyers and orders in the database of DATABASE_URL (the devstack's when
unset: run `python -m config.devstack env`). It prints one JSON object.

The flash sale's worker figure (`flash_sale.py`, `cpu_ms_per_purchase.worker`) adds Celery,
its broker and beat; this one shows a change to the mail path alone, also on a busy machine.
"""

import argparse
import cProfile
import os
import pstats
import secrets
import sys
import time
import uuid
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:  # `python bench/mail_cpu.py` from any directory
    sys.path.insert(0, str(BASE_DIR))

WARM_UP = 20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=300)
    parser.add_argument("--profile", action="store_true", help="cProfile (CPU time) to stderr")
    args = parser.parse_args(argv)

    from bench.servers import backend_cpu_s, free_port, mail_sink

    port = free_port()
    os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))
    os.environ.update(DEBUG="0", EMAIL_URL=f"smtp://127.0.0.1:{port}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import json
    import logging

    from django.conf import settings

    from accounts.models import User
    from bench.flash_sale import create_sale
    from notifications import services as notifications
    from notifications.models import Channel, Message
    from ticketing.booking import services as booking

    logging.disable(logging.INFO)  # a request log line per purchase otherwise
    sales = args.mails + WARM_UP
    run_id = secrets.token_hex(4)
    event_id, tier_id, _tokens = create_sale(capacity=sales, buyers=sales, run_id=run_id)
    buyers = list(User.objects.filter(email__endswith=f"-{run_id}@bench.invalid").order_by("pk"))

    def buy(users: list[Any]) -> None:
        for user in users:
            order = booking.order_reserve(
                buyer=user,
                event_id=event_id,
                items=[(tier_id, 1)],
                idempotency_key=uuid.uuid4().hex,
            )
            booking.order_pay(
                buyer=user,
                order_id=order.pk,
                idempotency_key=uuid.uuid4().hex,
                source="4242424242424242",
            )

    def relay() -> None:
        size = settings.NOTIFICATIONS_BATCH_SIZE
        while True:
            deliveries, more = notifications.outbox_relay(limit=settings.NOTIFICATIONS_RELAY_BATCH)
            people = [pk for pk, channel in deliveries if channel != Channel.WEBHOOK]
            for start in range(0, len(people), size):
                notifications.deliveries_send(delivery_ids=people[start : start + size])
            if not more:
                return

    with mail_sink(port) as sink:
        # Whatever else waits in this database's outbox is not this run's to send.
        Message.objects.filter(status=Message.Status.PENDING).update(
            status=Message.Status.FANNED_OUT
        )
        buy(buyers[:WARM_UP])
        relay()
        buy(buyers[WARM_UP:])
        sink.reset()
        profile = cProfile.Profile(time.thread_time) if args.profile else None
        backend, cpu, wall = backend_cpu_s(), time.thread_time(), time.perf_counter()
        if profile is not None:
            profile.enable()
        relay()
        if profile is not None:
            profile.disable()
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        backend = backend_cpu_s() - backend
        deadline = time.monotonic() + 10
        while len(sink.orders()) < args.mails and time.monotonic() < deadline:
            time.sleep(0.05)
        delivered = len(sink.orders())
    print(
        json.dumps(
            {
                "mails": delivered,
                "worker_cpu_ms_per_mail": round(1000 * cpu / args.mails, 3),
                "postgres_backend_cpu_ms_per_mail": round(1000 * backend / args.mails, 3),
                "wall_ms_per_mail": round(1000 * wall / args.mails, 3),
                "load_avg": os.getloadavg(),
            }
        )
    )
    if profile is not None:
        pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(60)
    return 0 if delivered == args.mails else 1


if __name__ == "__main__":
    sys.exit(main())
