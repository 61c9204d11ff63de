"""Flash sale: K tickets, B buyers with API tokens, C at a time; each registers 1 ticket and pays.

    .venv/bin/python bench/flash_sale.py                         # K=5,000  B=20,000  C=200
    .venv/bin/python bench/flash_sale.py --concurrency 50 --runs 3
    .venv/bin/python bench/flash_sale.py --url http://127.0.0.1:8000   # a server you started

By default it uses the embedded devstack servers (or DATABASE_URL / REDIS_URL when set), but its
own database (`boxoffice_bench`, dropped and recreated every run) and its own Redis database
(15, flushed), and starts gunicorn itself with production settings. The load comes from a
separate process (aiohttp, keep-alive). It prints one JSON object on stdout; bench/README.md
explains every field. Exit status 1 when the database check at the end fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import math
import multiprocessing
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:  # `python bench/flash_sale.py` from any directory
    sys.path.insert(0, str(BASE_DIR))

from bench.servers import (  # noqa: E402 - after the sys.path fix above
    TICK,
    celery_processes,
    children_of,
    durable_postgres,
    free_port,
    free_port_in,
    logger,
    mail_sink,
    own_redis,
    postgres_settings,
    process_cpu_s,
    stat_fields,
    tree_cpu_s,
    worker_ready,
)

BIN = Path(sys.executable).parent
BUYER_PASSWORD = "flash-sale-bench-buyer"  # noqa: S105 - hashed once for all bench buyers
# A transient answer is retried with the same idempotency key, as a real client would.
RETRYABLE_CODES = {"BUSY", "PAYMENT_IN_PROGRESS"}
MAX_ATTEMPTS = 5
# A 503 with Retry-After (PostgreSQL restarting) says when to come back: a buyer does, for up to
# this long, instead of giving up after MAX_ATTEMPTS quick retries.
UNAVAILABLE_PATIENCE_S = 60.0
SEATS_PER_ROW = 100  # --seated: rows of 100 seats, aisles after seats 25 and 75
SAFE_DB_NAME = re.compile(r"^[a-z0-9_]*bench[a-z0-9_]*$")


log = logger("flash_sale")


# --- The load process (no Django here) -------------------------------------------------------


@dataclass(frozen=True)
class LoadSpec:
    url: str
    event_id: str
    tier_id: str
    tokens: list[str]
    concurrency: int
    seated: bool = False


@dataclass
class LoadStats:
    register_ms: list[float] = field(default_factory=list)  # registers answered 201
    pay_ms: list[float] = field(default_factory=list)  # pays answered 200 "paid"
    purchase_ms: list[float] = field(default_factory=list)  # register start -> paid answer
    sold_out_ms: list[float] = field(default_factory=list)  # registers answered SOLD_OUT
    errors: Counter[str] = field(default_factory=Counter)
    http_5xx: int = 0
    requests: int = 0
    retries: int = 0
    confirmed: int = 0
    sold_out: int = 0
    buyers_failed: int = 0
    first_start: float = math.inf
    last_confirmed_end: float = -math.inf
    sold_out_first_start: float = math.inf
    sold_out_last_end: float = -math.inf
    # order id -> wall-clock time of its `paid` answer, to match the mail that confirms it
    paid_at: dict[str, float] = field(default_factory=dict)


def percentiles(values: list[float]) -> dict[str, float | None]:
    """Nearest-rank p50/p95/p99 in milliseconds (None when there is no sample)."""
    ordered = sorted(values)

    def rank(p: float) -> float | None:
        if not ordered:
            return None
        return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)], 1)

    return {"p50": rank(50), "p95": rank(95), "p99": rank(99)}


def _error_code(raw: bytes) -> str:
    try:
        body = json.loads(raw)
        return str(body["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return ""


async def _post(
    session: Any, stats: LoadStats, url: str, payload: dict[str, Any], headers: dict[str, str]
) -> tuple[int, bytes, float, float]:
    """POST, retrying transient failures with the same body; (status, body, start, end).

    Latency runs from the first attempt to the last answer, as the buyer experiences it.
    Every non-final answer (5xx, BUSY, a dropped connection) is counted in `errors`.
    """
    import aiohttp

    started = time.perf_counter()
    stats.first_start = min(stats.first_start, started)
    status, raw = 0, b""
    attempt = 0
    while attempt < MAX_ATTEMPTS:
        attempt += 1
        stats.requests += 1
        wait = 0.1 * attempt
        told_to_come_back = False
        try:
            async with session.post(url, json=payload, headers=headers) as response:
                raw = await response.read()
                status = response.status
                retry_after = response.headers.get("Retry-After")
        except (TimeoutError, aiohttp.ClientError) as exc:
            status, raw = 0, b""
            stats.errors[f"TRANSPORT_{type(exc).__name__}"] += 1
        else:
            code = _error_code(raw) if status >= 400 else ""
            if status >= 500:
                stats.http_5xx += 1
                stats.errors[f"HTTP_{status}_{code or 'NO_CODE'}"] += 1
                if status == 503 and retry_after:
                    told_to_come_back = True
                    wait = float(retry_after)
            elif code in RETRYABLE_CODES:
                stats.errors[code] += 1
                wait = float(retry_after or 1)
            else:
                return status, raw, started, time.perf_counter()
        if told_to_come_back and time.perf_counter() - started < UNAVAILABLE_PATIENCE_S:
            attempt -= 1  # not a failed try: the service named the moment to come back
            stats.retries += 1
            await asyncio.sleep(min(wait, 5.0))
        elif attempt < MAX_ATTEMPTS:
            stats.retries += 1
            await asyncio.sleep(min(wait, 2.0))
    return status, raw, started, time.perf_counter()


async def _buy(session: Any, stats: LoadStats, spec: LoadSpec, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    key = uuid.uuid4().hex
    wanted: dict[str, Any] = (
        {"best_available": {"tier_id": spec.tier_id, "quantity": 1}}
        if spec.seated
        else {"tier_id": spec.tier_id, "quantity": 1}
    )
    status, raw, start, end = await _post(
        session,
        stats,
        f"{spec.url}/api/v1/events/{spec.event_id}/register",
        {**wanted, "idempotency_key": key},
        headers,
    )
    if status == 409 and _error_code(raw) == "SOLD_OUT":
        stats.sold_out += 1
        stats.sold_out_ms.append((end - start) * 1000)
        stats.sold_out_first_start = min(stats.sold_out_first_start, start)
        stats.sold_out_last_end = max(stats.sold_out_last_end, end)
        return
    if status != 201:
        if status and 400 <= status < 500:
            stats.errors[_error_code(raw) or f"HTTP_{status}"] += 1
        stats.buyers_failed += 1
        return
    stats.register_ms.append((end - start) * 1000)
    order_id = json.loads(raw)["order_id"]
    status, raw, pay_start, pay_end = await _post(
        session,
        stats,
        f"{spec.url}/api/v1/orders/{order_id}/pay",
        {"idempotency_key": f"pay-{key}"},
        headers,
    )
    if status == 200 and json.loads(raw).get("status") == "paid":
        stats.confirmed += 1
        stats.pay_ms.append((pay_end - pay_start) * 1000)
        stats.purchase_ms.append((pay_end - start) * 1000)
        stats.last_confirmed_end = max(stats.last_confirmed_end, pay_end)
        stats.paid_at[order_id] = time.time()
        return
    if status and 400 <= status < 500:
        stats.errors[_error_code(raw) or f"HTTP_{status}"] += 1
    stats.buyers_failed += 1


async def _load(spec: LoadSpec) -> dict[str, Any]:
    import aiohttp

    stats = LoadStats()
    # Close idle connections before gunicorn's keepalive (5 s) does, so no request races a close.
    connector = aiohttp.TCPConnector(limit=spec.concurrency, keepalive_timeout=4)
    timeout = aiohttp.ClientTimeout(total=60)
    buyers = iter(spec.tokens)  # shared by all virtual users: each token is used once

    async def virtual_user(session: Any) -> None:
        for token in buyers:
            await _buy(session, stats, spec, token)

    cpu_before, wall_before = time.process_time(), time.perf_counter()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(virtual_user(session) for _ in range(spec.concurrency)))
    wall = time.perf_counter() - wall_before
    confirm_window = stats.last_confirmed_end - stats.first_start
    sold_out_window = stats.sold_out_last_end - stats.sold_out_first_start
    return {
        "confirmed": stats.confirmed,
        "confirmed_per_s": round(stats.confirmed / confirm_window, 1) if stats.confirmed else 0.0,
        "confirm_window_s": round(confirm_window, 3) if stats.confirmed else None,
        "sold_out_answers": stats.sold_out,
        "sold_out_answers_per_s": round(stats.sold_out / sold_out_window, 1)
        if stats.sold_out > 1 and sold_out_window > 0
        else 0.0,
        "sold_out_window_s": round(sold_out_window, 3) if stats.sold_out else None,
        "register_ms": percentiles(stats.register_ms),
        "pay_ms": percentiles(stats.pay_ms),
        "purchase_ms": percentiles(stats.purchase_ms),
        "sold_out_ms": percentiles(stats.sold_out_ms),
        "http_5xx": stats.http_5xx,
        "errors": dict(sorted(stats.errors.items())),
        "retries": stats.retries,
        "buyers_failed": stats.buyers_failed,
        "requests": stats.requests,
        "requests_per_s": round(stats.requests / wall, 1),
        "duration_s": round(wall, 3),
        "loadgen_cpu_s": round(time.process_time() - cpu_before, 2),
        "paid_at": stats.paid_at,
    }


def run_load(spec: LoadSpec) -> dict[str, Any]:
    """Entry point of the load process."""
    return asyncio.run(_load(spec))


async def _warm_up(url: str, event_id: str, count: int, concurrency: int) -> None:
    import aiohttp

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        pending = iter(range(count))

        async def worker() -> None:
            for _ in pending:
                async with session.get(f"{url}/api/v1/events/{event_id}/tickets") as response:
                    await response.read()

        await asyncio.gather(*(worker() for _ in range(max(1, min(count, concurrency)))))


def run_warm_up(url: str, event_id: str, count: int, concurrency: int) -> None:
    """Open every gunicorn thread's database connection before the clock starts."""
    asyncio.run(_warm_up(url, event_id, count, concurrency))


# --- Environment: databases, Redis, gunicorn --------------------------------------------------


def with_path(url: str, path: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=path))


@contextlib.contextmanager
def bench_environment(args: argparse.Namespace) -> Iterator[dict[str, str]]:
    """The environment for Django and gunicorn, with database and Redis servers up."""
    if args.url:
        missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not os.environ.get(name)]
        if missing:
            raise SystemExit(
                f"--url needs {' and '.join(missing)} (and CACHE_KEY_PREFIX if the server sets"
                " it) pointing at the server's own database and Redis: the bench creates the"
                " event and buyers there and checks the result there."
            )
        environ = dict(os.environ)
        if not environ.get("SECRET_KEY"):
            environ.setdefault("DEBUG", "1")  # only this process's settings; nothing is served
        yield environ
        return
    if not SAFE_DB_NAME.match(args.db_name):
        raise SystemExit("--db-name must contain 'bench' (it is dropped and recreated)")
    from config import devstack

    own_servers = not getattr(args, "devstack", True) and "DATABASE_URL" not in os.environ
    with contextlib.ExitStack() as servers:
        if own_servers:
            pg_url, args.postmaster_pid = servers.enter_context(
                durable_postgres(args.pg_port or free_port_in(55700, 55799))
            )
            redis_url, args.redis_pid = servers.enter_context(
                own_redis(args.redis_port or free_port_in(56700, 56799))
            )
            base = dict(os.environ, DATABASE_URL=pg_url, REDIS_URL=redis_url)
            base.setdefault("DEBUG", "1")
        else:
            base = servers.enter_context(devstack.stack(redis_db=args.redis_db))
            args.postmaster_pid = args.redis_pid = 0
        environ = dict(base)
        environ["DATABASE_URL"] = with_path(base["DATABASE_URL"], f"/{args.db_name}")
        environ["REDIS_URL"] = with_path(base["REDIS_URL"], f"/{args.redis_db}")
        environ.pop("CELERY_BROKER_URL", None)  # the broker is the bench's Redis db too
        environ.pop("GUNICORN_ACCESSLOG", None)
        # The production image ships compiled bytecode (Dockerfile). Without it every gunicorn
        # worker start (and each max_requests recycle) compiles Django anew: ~3 s of CPU
        # instead of ~1 s. A cache outside the checkout gives the bench the production cost.
        environ.pop("PYTHONDONTWRITEBYTECODE", None)
        environ["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "boxoffice_bench_pyc")
        environ.update(
            DEBUG="0",
            SECRET_KEY=secrets.token_urlsafe(50),
            SECURE_SSL_REDIRECT="0",
            ALLOWED_HOSTS="127.0.0.1",
            CACHE_KEY_PREFIX=f"bench{secrets.token_hex(4)}",
            SANDBOX_LATENCY_MS=str(args.sandbox_latency_ms),
        )
        if args.workers:
            environ["WEB_CONCURRENCY"] = str(args.workers)
        if args.threads:
            environ["GUNICORN_THREADS"] = str(args.threads)
        args.postgres_settings = postgres_settings(with_path(environ["DATABASE_URL"], "/postgres"))
        yield environ


def reset_database(database_url: str, name: str, *, create: bool) -> None:
    """Drop the bench database (closing its connections) and, if asked, create it empty."""
    import psycopg

    assert SAFE_DB_NAME.match(name)  # noqa: S101 - checked in bench_environment too
    with psycopg.connect(with_path(database_url, "/postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')


def flush_redis(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        client.flushdb()
    finally:
        client.close()


def gunicorn_settings(environ: dict[str, str]) -> dict[str, int]:
    """Workers and threads as config/gunicorn.conf.py reads them."""
    return {
        "workers": int(environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1)),
        "threads": int(environ.get("GUNICORN_THREADS", "4")),
    }


def serving(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310 - our own http URL
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def gunicorn(
    environ: dict[str, str], log_path: Path, port: int | None = None
) -> Iterator[tuple[str, int]]:
    """Start gunicorn with config/gunicorn.conf.py on a free port; yield (url, master pid)."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    server_env = dict(environ, GUNICORN_BIND=f"127.0.0.1:{port}", SITE_URL=url)
    command = [
        str(BIN / "gunicorn"),
        "-c",
        "config/gunicorn.conf.py",
        "--no-control-socket",
        "config.wsgi",
    ]
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            command,
            env=server_env,
            cwd=BASE_DIR,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        # Generous: on a shared 2-core box under load 30+, booting three workers that import the
        # whole project took over a minute, and a bench that gives up then measures nothing.
        deadline = time.monotonic() + 180
        while not serving(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not come up on {url}; see {log_path}")
            time.sleep(0.2)
        yield url, process.pid
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


# --- CPU accounting from /proc (the per-process readers live in bench.servers) ---------------


def gunicorn_cpu_s(master: int) -> float:
    return process_cpu_s(master, with_reaped_children=True) + sum(
        process_cpu_s(child) for child in children_of(master)
    )


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])
    return total - idle, total


# --- Data: the sale and the check -------------------------------------------------------------


def create_sale(
    *, capacity: int, buyers: int, run_id: str, seated: bool = False
) -> tuple[str, str, list[str]]:
    """A published event with one tier of `capacity`, and `buyers` users with API tokens.

    `seated`: the tier is `capacity` assigned seats in rows of 100 (aisles after seats 25 and
    75), built with the organizer's services, and buyers ask for the best available seat.
    """
    from datetime import timedelta
    from decimal import Decimal

    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import ApiToken, Organization, User
    from events.models import Event, TicketTier, Venue

    now = timezone.now()
    with transaction.atomic():
        organization = Organization.objects.create(
            name=f"Flash sale bench {run_id}", slug=f"flash-sale-bench-{run_id}"
        )
        venue = Venue.objects.create(organization=organization, name="Arena", city="Berlin")
        event = Event.objects.create(
            organization=organization,
            venue=venue,
            title=f"Flash sale {run_id}",
            slug="flash-sale",
            starts_at=now + timedelta(days=7),
            ends_at=now + timedelta(days=7, hours=3),
            status=Event.Status.PUBLISHED,
            currency="EUR",
        )
        tier = TicketTier.objects.create(
            event=event, name="General admission", price=Decimal("25.00"), capacity=capacity
        )
        # One hash for everybody: PBKDF2 20,000 times would take minutes and test nothing here.
        password = make_password(BUYER_PASSWORD)
        users = User.objects.bulk_create(
            (
                User(
                    email=f"buyer{i}-{run_id}@bench.invalid",
                    full_name=f"Buyer {i}",
                    password=password,
                )
                for i in range(buyers)
            ),
            batch_size=2000,
        )
        tokens = [ApiToken.new_token() for _ in users]
        # As POST /auth/token issues them: a new token counts as used (no write on first use).
        ApiToken.objects.bulk_create(
            (
                ApiToken(user=user, digest=ApiToken.digest_of(token), last_used_at=now)
                for user, token in zip(users, tokens, strict=True)
            ),
            batch_size=2000,
        )
    if seated:
        seat_the_sale(event, tier, capacity)
    return str(event.pk), str(tier.pk), tokens


def seat_the_sale(event: Any, tier: Any, capacity: int) -> None:
    from accounts.models import User
    from ticketing.seating.services import SeatBlock, event_seating_apply, seat_map_create

    organizer = User.objects.create(email=f"organizer-{event.pk}@bench.invalid")
    full_rows, rest = divmod(capacity, SEATS_PER_ROW)
    aisles = (25, 75)
    blocks = (
        [
            SeatBlock(
                section="Arena",
                rows=full_rows,
                seats_per_row=SEATS_PER_ROW,
                zone="A",
                aisles_after=aisles,
            )
        ]
        if full_rows
        else []
    )
    if rest:
        blocks.append(
            SeatBlock(
                section="Arena",
                rows=1,
                seats_per_row=rest,
                zone="A",
                first_row=_row_after(full_rows),
                aisles_after=aisles,
                y=full_rows,
            )
        )
    seat_map = seat_map_create(user=organizer, venue=event.venue, name="Arena", blocks=blocks)
    event_seating_apply(user=organizer, event=event, seat_map=seat_map, zone_tiers={"A": tier.pk})


def _row_after(rows: int) -> str:
    from ticketing.seating.services import _row_label

    return _row_label("A", rows)


def check_database(*, event_id: str, tier_id: str, buyers: int) -> dict[str, Any]:
    """What PostgreSQL says happened, and whether it adds up."""
    from django.db.models import CharField, Count, F, Sum, Value
    from django.db.models.functions import Cast, Concat

    from events.models import TicketTier
    from ticketing.models import Order, OrderLine, Payment, SandboxCharge, Ticket

    tier = TicketTier.objects.get(pk=tier_id)
    seated = tier.seats.exists()
    orders = dict(
        Order.objects.filter(event_id=event_id)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    tickets = Ticket.objects.filter(event_id=event_id)
    held = (
        OrderLine.objects.filter(tier=tier, order__status=Order.Status.PENDING).aggregate(
            n=Sum("quantity")
        )["n"]
        or 0
    )
    payments = Payment.objects.filter(order__event_id=event_id)
    charges = SandboxCharge.objects.filter(
        idempotency_key__in=payments.annotate(
            key=Concat(Value("bo-"), Cast("id", CharField()))
        ).values("key")
    )
    ticket_count = tickets.count()
    capacity = tier.capacity
    by_status: dict[str, int] = dict(
        payments.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    result: dict[str, Any] = {
        "tier_capacity": capacity,
        "tier_sold_count": tier.sold_count,
        "tickets": ticket_count,
        "orders": {status: orders.get(status, 0) for status in Order.Status.values},
        "held_in_pending_orders": held,
        "payments": by_status,
        "sandbox_charges": charges.count(),
        "sandbox_charges_succeeded": charges.filter(succeeded=True).count(),
        # One ticket per order and per buyer here (everyone asks for 1), and only paid orders.
        "orders_with_extra_tickets": tickets.values("order_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count(),
        "buyers_with_extra_tickets": tickets.values("holder_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count(),
        "tickets_of_unpaid_orders": tickets.exclude(order__status=Order.Status.PAID).count(),
    }
    if seated:
        from ticketing.models import EventSeat

        result["seats"] = EventSeat.objects.filter(tier=tier).count()
        # The double-booking figure: a seat with two valid tickets, or two live orders.
        result["seats_sold_twice"] = (
            tickets.filter(status=Ticket.Status.VALID)
            .values("seat_id")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
            .count()
        )
        result["tickets_without_seat"] = tickets.filter(seat__isnull=True).count()
        result["tickets_on_a_seat_of_another_order"] = tickets.exclude(
            seat__order_id=F("order_id")
        ).count()
    result["oversold"] = max(0, ticket_count - capacity)
    result["undersold"] = max(0, capacity - ticket_count) if buyers >= capacity else 0
    succeeded = by_status.get(Payment.Status.SUCCEEDED, 0)
    refunded = by_status.get(Payment.Status.REFUNDED, 0)
    problems = []
    if result["oversold"]:
        problems.append("more tickets than capacity")
    if result["orders_with_extra_tickets"] or result["buyers_with_extra_tickets"]:
        problems.append("duplicate tickets")
    if result["tickets_of_unpaid_orders"]:
        problems.append("tickets on unpaid orders")
    if seated and (
        result["seats_sold_twice"]
        or result["tickets_without_seat"]
        or result["tickets_on_a_seat_of_another_order"]
    ):
        problems.append("a seat sold twice, or a ticket without its own seat")
    if ticket_count != orders.get(Order.Status.PAID, 0):
        problems.append("tickets != paid orders")
    if tier.sold_count != ticket_count + held:
        problems.append("tier.sold_count != tickets + held")
    if succeeded != ticket_count:
        problems.append("succeeded payments != tickets")
    if result["sandbox_charges_succeeded"] != succeeded + refunded:
        problems.append("successful charges != succeeded + refunded payments")
    result["problems"] = problems
    return result


def emails_queued(redis_url: str) -> int:
    """Confirmation-email tasks waiting in the bench's broker (no Celery worker runs)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        return sum(int(client.llen(key)) for key in client.scan_iter("notifications*"))
    finally:
        client.close()


def postgres_backends_cpu_s(database: str) -> float:
    """CPU seconds used so far by the database's server processes.

    The live backends of `database`, plus what the postmaster has reaped from exited backends
    (a recycled gunicorn worker's connections end mid-run, and their CPU would vanish from a
    sum over live ones; on a shared server the reaped part includes other databases' too).
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [database],
        )
        pids = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT pg_backend_pid()")
        (own,) = cursor.fetchone()
    own_fields = stat_fields(own)
    postmaster = int(own_fields[1]) if own_fields else 0  # ppid (fields start after the name)
    reaped = 0.0
    if postmaster:
        fields = stat_fields(postmaster)
        if fields is not None:
            reaped = (int(fields[13]) + int(fields[14])) / TICK  # cutime, cstime
    return reaped + sum(process_cpu_s(pid) for pid in pids)


# --- One run ----------------------------------------------------------------------------------


def fresh_database(environ: dict[str, str], name: str) -> None:
    """Drop and recreate the bench's own database and flush its Redis database, then migrate."""
    from django.db import connections

    connections.close_all()
    flush_redis(environ["REDIS_URL"])
    reset_database(environ["DATABASE_URL"], name, create=True)
    subprocess.run(
        [str(BIN / "python"), "manage.py", "migrate", "--noinput", "-v", "0"],
        env=environ,
        cwd=BASE_DIR,
        check=True,
    )


def wait_for_mail(sink: Any, paid_at: dict[str, float], *, timeout: float) -> dict[str, Any]:
    """Wait until every confirmed order's mail reached the sink; what arrived and how late."""
    wanted = set(paid_at)
    deadline = time.monotonic() + timeout
    log(f"waiting for {len(wanted)} confirmation mails")
    while not wanted <= sink.orders() and time.monotonic() < deadline:
        time.sleep(0.2)
    with sink.lock:
        arrivals = list(sink.arrivals)
        other = sink.other
    first: dict[str, float] = {}
    copies: Counter[str] = Counter()
    for arrived, order_id in arrivals:
        copies[order_id] += 1
        first[order_id] = min(first.get(order_id, math.inf), arrived)
    delays = [(first[o] - paid) * 1000 for o, paid in paid_at.items() if o in first]
    last_paid = max(paid_at.values(), default=0.0)
    last_mail = max((first[o] for o in paid_at if o in first), default=last_paid)
    return {
        "mails_delivered": sum(1 for o in paid_at if o in first),
        "mails_missing": len(wanted - set(first)),
        "mail_duplicates": sum(n - 1 for o, n in copies.items() if o in wanted),
        "mails_other": other,
        "mail_delay_ms": percentiles(delays),
        "mail_drain_s": round(max(0.0, last_mail - last_paid), 2),
    }


def one_run(
    args: argparse.Namespace, environ: dict[str, str], executor: ProcessPoolExecutor, n: int
) -> dict[str, Any]:
    from django.db import connections

    from ticketing.booking.gate import gate_sync

    run_id = f"{time.strftime('%H%M%S')}-{secrets.token_hex(3)}"
    local = not args.url
    load_before = os.getloadavg()
    if local:
        log(f"run {n}: fresh database {args.db_name}, migrate")
        fresh_database(environ, args.db_name)
    started = time.perf_counter()
    event_id, tier_id, tokens = create_sale(
        capacity=args.capacity, buyers=args.buyers, run_id=run_id, seated=args.seated
    )
    gate_sync(event_ids=[event_id])
    log(
        f"run {n}: event {event_id}, {args.capacity} tickets, {args.buyers} buyers "
        f"created in {time.perf_counter() - started:.1f} s"
    )
    spec = LoadSpec(
        url="",
        event_id=event_id,
        tier_id=tier_id,
        tokens=tokens,
        concurrency=args.concurrency,
        seated=args.seated,
    )
    server: dict[str, Any] = {}
    mail: dict[str, Any] = {}
    cpu_per_purchase: dict[str, float] = {}
    with contextlib.ExitStack() as stack:
        if local:
            run_environ = dict(environ)
            port = free_port_in(8171, 8179)
            run_environ["SITE_URL"] = f"http://127.0.0.1:{port}"
            worker_pids: list[int] = []
            sink = None
            if args.mail:
                smtp_port = free_port_in(2525, 2535)
                sink = stack.enter_context(mail_sink(smtp_port))
                run_environ["EMAIL_URL"] = f"smtp://127.0.0.1:{smtp_port}"
                celery_log = Path(tempfile.gettempdir()) / f"flash_sale_celery_{os.getpid()}.log"
                celery_log.unlink(missing_ok=True)
                worker_pids = stack.enter_context(
                    celery_processes(
                        run_environ, concurrency=args.worker_concurrency, log_path=celery_log
                    )
                )
                server["celery_log"] = str(celery_log)
                server["worker_concurrency"] = args.worker_concurrency
            log_path = Path(tempfile.gettempdir()) / f"flash_sale_gunicorn_{os.getpid()}.log"
            url, master = stack.enter_context(gunicorn(run_environ, log_path, port))
            server.update({"url": url, **gunicorn_settings(environ), "log": str(log_path)})
            log(f"run {n}: gunicorn (master pid {master}) on {url}, log {log_path}")
            if worker_pids:
                worker_ready(Path(server["celery_log"]))
        else:
            url, master = args.url.rstrip("/"), 0
            server = {"url": url}
        spec = dataclasses.replace(spec, url=url)
        executor.submit(run_warm_up, url, event_id, args.warmup, args.concurrency).result()
        if master:
            server["worker_pids"] = children_of(master)
        cpu = (gunicorn_cpu_s(master) if master else 0.0, machine_cpu())
        pg_cpu = postgres_backends_cpu_s(args.db_name) if local else 0.0
        trees: dict[str, list[int]] = {}
        if local:
            trees = {"web": [master], "worker": worker_pids}
            if args.postmaster_pid:
                trees["postgres"] = [args.postmaster_pid]
            if args.redis_pid:
                trees["redis"] = [args.redis_pid]
        tree_before = {name: sum(tree_cpu_s(pid) for pid in pids) for name, pids in trees.items()}
        log(f"run {n}: {args.buyers} buyers at concurrency {args.concurrency}")
        load = executor.submit(run_load, spec).result()
        paid_at: dict[str, float] = load.pop("paid_at")
        busy_after, total_after = machine_cpu()
        if master:
            server["gunicorn_cpu_s"] = round(gunicorn_cpu_s(master) - cpu[0], 2)
        if local:
            server["postgres_cpu_s"] = round(postgres_backends_cpu_s(args.db_name) - pg_cpu, 2)
        if sink is not None:
            mail = wait_for_mail(sink, paid_at, timeout=args.mail_timeout)
        if trees:
            spent = {
                name: sum(tree_cpu_s(pid) for pid in pids) - tree_before[name]
                for name, pids in trees.items()
            }
            spent["loadgen"] = load["loadgen_cpu_s"]
            per = max(1, load["confirmed"])
            cpu_per_purchase = {name: round(1000 * s / per, 2) for name, s in spent.items()}
            cpu_per_purchase["total"] = round(1000 * sum(spent.values()) / per, 2)
        busy_before, total_before = cpu[1]
        server["machine_cpu_busy_pct"] = round(
            100 * (busy_after - busy_before) / max(1, total_after - total_before), 1
        )
    db = check_database(event_id=event_id, tier_id=tier_id, buyers=args.buyers)
    if local:
        db["emails_queued"] = emails_queued(environ["REDIS_URL"])
        db["postgres"] = args.postgres_settings
    if load["confirmed"] != db["tickets"]:
        db["problems"].append("buyers told 'paid' != tickets in the database")
    if mail and (mail["mails_missing"] or mail["mail_duplicates"]):
        db["problems"].append("a confirmation mail missing or delivered twice")
    result = {
        "capacity": args.capacity,
        "buyers": args.buyers,
        "concurrency": args.concurrency,
        "sold": db["tickets"],
        "oversold": db["oversold"],
        "undersold": db["undersold"],
        **load,
        **mail,
        "cpu_ms_per_purchase": cpu_per_purchase,
        "server": server,
        "db": db,
        "db_ok": not db["problems"],
        "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
    }
    if local:
        connections.close_all()
        flush_redis(environ["REDIS_URL"])
        if not args.keep_db:
            reset_database(environ["DATABASE_URL"], args.db_name, create=False)
    return result


def median_of(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Field by field: the median of numbers, all() of booleans, the first of anything else."""
    merged: dict[str, Any] = {}
    keys = list(dict.fromkeys(key for result in results for key in result))
    for key in keys:
        values = [result.get(key) for result in results]
        present = [v for v in values if v is not None]
        sample = present[0] if present else None
        if isinstance(sample, bool):
            merged[key] = all(present)
        elif isinstance(sample, int | float):
            merged[key] = round(statistics.median(present), 2)
        elif isinstance(sample, dict):
            dicts = [v for v in present if isinstance(v, dict)]
            if key in {"errors", "orders", "payments"}:  # a code missing from a run counted 0
                codes = dict.fromkeys(code for v in dicts for code in v)
                dicts = [{code: v.get(code, 0) for code in codes} for v in dicts]
            merged[key] = median_of(dicts)
        else:
            merged[key] = sample
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--capacity", type=int, default=5000, help="tickets in the tier (K)")
    parser.add_argument("--buyers", type=int, default=20000, help="buyers with tokens (B)")
    parser.add_argument("--concurrency", type=int, default=200, help="virtual users at once (C)")
    parser.add_argument("--runs", type=int, default=1, help="repeat; print the medians")
    parser.add_argument("--url", help="target this running server (nothing is dropped)")
    parser.add_argument("--workers", type=int, help="WEB_CONCURRENCY for the bench's gunicorn")
    parser.add_argument("--threads", type=int, help="GUNICORN_THREADS for the bench's gunicorn")
    parser.add_argument("--warmup", type=int, default=200, help="GETs before the clock starts")
    parser.add_argument("--sandbox-latency-ms", type=int, default=0, help="processor delay")
    parser.add_argument("--db-name", default="boxoffice_bench", help="dropped and recreated")
    parser.add_argument("--redis-db", type=int, default=15, help="flushed before and after")
    parser.add_argument("--keep-db", action="store_true", help="leave the database for a look")
    parser.add_argument(
        "--seated", action="store_true", help="K assigned seats; buyers ask for best available"
    )
    parser.add_argument(
        "--no-mail",
        dest="mail",
        action="store_false",
        help="no Celery worker, beat or SMTP sink (the confirmations stay queued)",
    )
    parser.add_argument("--worker-concurrency", type=int, default=2, help="Celery processes")
    parser.add_argument("--mail-timeout", type=float, default=900, help="seconds for the mail")
    parser.add_argument(
        "--devstack",
        action="store_true",
        help="use the devstack PostgreSQL (fsync=off) and Redis instead of the bench's own",
    )
    parser.add_argument("--pg-port", type=int, help="the bench's PostgreSQL (55700-55799)")
    parser.add_argument("--redis-port", type=int, help="the bench's Redis (56700-56799)")
    args = parser.parse_args(argv)
    if min(args.capacity, args.buyers, args.concurrency, args.runs) < 1:
        parser.error("--capacity, --buyers, --concurrency and --runs must be at least 1")

    return run_and_report(args, one_run)


def run_and_report(args: argparse.Namespace, run: Callable[..., dict[str, Any]]) -> int:
    """Set up the bench's servers and Django, do `args.runs` runs, print one JSON object."""
    with bench_environment(args) as environ:
        os.environ.update(environ)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        context = multiprocessing.get_context("spawn")  # the load process imports no Django
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as executor:
            results = [run(args, environ, executor, n) for n in range(1, args.runs + 1)]
    output = results[0] if len(results) == 1 else {**median_of(results), "runs": results}
    print(json.dumps(output, indent=2))
    return 0 if all(r["db_ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
