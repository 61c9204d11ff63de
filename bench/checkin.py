"""Door check-in: D devices scan a festival's tickets at one list, over HTTP, against gunicorn.

    .venv/bin/python bench/checkin.py                      # 5,000 tickets, 20 devices, ~6,300 scans
    .venv/bin/python bench/checkin.py --tickets 2000 --devices 20 --runs 3

Same set-up as bench/flash_sale.py (whose helpers it uses): its own database
(`boxoffice_bench_checkin`, dropped and recreated), its own Redis database (14, flushed), gunicorn
started with config/gunicorn.conf.py and production settings, and the load from a separate
process (aiohttp, keep-alive, one connection per device). Each device has its own door-staff
account and API token and sends `POST /api/v1/checkin/scan {payload, list_id, device_id}`.

The scans: every valid ticket once, a share of them again from another device (already used,
and some at the same moment from two devices), refunded tickets, forged signatures and junk,
shuffled. At the end PostgreSQL is asked whether admissions == distinct valid tickets scanned,
every scan was logged once, and no device was told "admitted" for a ticket twice. One JSON
object on stdout; exit status 1 when that check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import secrets
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench.flash_sale import (  # noqa: E402 - after the sys.path fix above
    children_of,
    flush_redis,
    fresh_database,
    gunicorn,
    gunicorn_cpu_s,
    gunicorn_settings,
    machine_cpu,
    percentiles,
    postgres_backends_cpu_s,
    reset_database,
    run_and_report,
)
from bench.servers import logger  # noqa: E402

WARMUP_DEVICE = "warmup"


log = logger("checkin")


# --- The load process (no Django here) -------------------------------------------------------


@dataclass(frozen=True)
class LoadSpec:
    url: str
    list_id: str
    tokens: list[str]  # one per device
    scans: list[str]  # payloads, in the order the doors see them
    warmup: int


@dataclass
class LoadStats:
    latency_ms: list[float] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    admitted_tickets: Counter[str] = field(default_factory=Counter)
    started: float = 0.0
    ended: float = 0.0


async def _scan_loop(
    session: Any, spec: LoadSpec, stats: LoadStats, device: int, todo: Any, device_id: str = ""
) -> None:
    import aiohttp

    url = f"{spec.url}/api/v1/checkin/scan"
    headers = {"Authorization": f"Bearer {spec.tokens[device]}"}
    device_id = device_id or f"gate-{device}"
    for payload in todo:
        body = {"payload": payload, "list_id": spec.list_id, "device_id": device_id}
        started = time.perf_counter()
        try:
            async with session.post(url, json=body, headers=headers) as response:
                raw = await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            stats.errors[f"TRANSPORT_{type(exc).__name__}"] += 1
            continue
        stats.latency_ms.append((time.perf_counter() - started) * 1000)
        if status != 200:
            stats.errors[f"HTTP_{status}"] += 1
            continue
        answer = json.loads(raw)
        stats.reasons[answer["reason"]] += 1
        if answer["valid"]:
            stats.admitted_tickets[payload] += 1


async def _load(spec: LoadSpec) -> dict[str, Any]:
    import aiohttp

    devices = len(spec.tokens)
    cpu_started = time.process_time()
    connector = aiohttp.TCPConnector(limit=devices, keepalive_timeout=4)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=60)
    ) as session:
        if spec.warmup:
            # Every gunicorn thread opens its database connection before the clock starts.
            junk = iter(["warm-up-not-a-ticket"] * spec.warmup)
            warm = LoadStats()
            await asyncio.gather(
                *(_scan_loop(session, spec, warm, d, junk, WARMUP_DEVICE) for d in range(devices))
            )
        stats = LoadStats()
        todo = iter(spec.scans)  # shared: each device takes the next code in the queue
        stats.started = time.perf_counter()
        await asyncio.gather(*(_scan_loop(session, spec, stats, d, todo) for d in range(devices)))
        stats.ended = time.perf_counter()
    elapsed = stats.ended - stats.started
    told_twice = sum(1 for n in stats.admitted_tickets.values() if n > 1)
    return {
        "scans": len(stats.latency_ms),
        "seconds": round(elapsed, 2),
        "scans_per_s": round(len(stats.latency_ms) / elapsed, 1) if elapsed else None,
        "latency_ms": percentiles(stats.latency_ms),
        "reasons": dict(stats.reasons.most_common()),
        "errors": dict(stats.errors),
        "told_admitted": sum(stats.admitted_tickets.values()),
        "tickets_told_admitted_twice": told_twice,
        "load_process_cpu_s": round(time.process_time() - cpu_started, 2),
    }


def run_load(spec: LoadSpec) -> dict[str, Any]:
    return asyncio.run(_load(spec))


# --- Data ----------------------------------------------------------------------------------------


def create_festival(
    *, tickets: int, devices: int, refunded: int, run_id: str
) -> tuple[str, list[str], dict[str, list[str]]]:
    """An event with `tickets` signed tickets (some refunded), a list, and door devices.

    Returns the list id, one API token per device, and the payloads by kind.
    """
    from datetime import timedelta
    from decimal import Decimal

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import ApiToken, Membership, Organization, User
    from checkin.services import checkin_list_default
    from checkin.signing import current_signing_key, ticket_payload_sign
    from events.models import Event, TicketTier, Venue
    from ticketing.models import Order, Ticket

    now = timezone.now()
    with transaction.atomic():
        organization = Organization.objects.create(
            name=f"Check-in bench {run_id}", slug=f"checkin-bench-{run_id}"
        )
        venue = Venue.objects.create(organization=organization, name="Field", city="Berlin")
        event = Event.objects.create(
            organization=organization,
            venue=venue,
            title=f"Festival {run_id}",
            slug="festival",
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(hours=10),
            status=Event.Status.PUBLISHED,
            currency="EUR",
        )
        tier = TicketTier.objects.create(
            event=event, name="Weekend", price=Decimal("80.00"), capacity=tickets
        )
        password = make_password(secrets.token_urlsafe(12))
        buyer = User.objects.create(email=f"buyer-{run_id}@bench.invalid", password=password)
        order = Order.objects.create(
            buyer=buyer,
            event=event,
            status=Order.Status.PAID,
            total=Decimal("80.00") * tickets,
            currency="EUR",
            expires_at=now,
            idempotency_key=run_id,
            request_digest="bench",
            paid_at=now,
        )
        key = current_signing_key(event.pk)
        rows = [
            Ticket(
                order=order,
                event=event,
                tier=tier,
                holder=buyer,
                attendee_name=f"Guest {n}",
            )
            for n in range(tickets)
        ]
        for ticket in rows:
            ticket.qr_payload = ticket_payload_sign(ticket, key=key)
        for ticket in rows[:refunded]:
            ticket.status, ticket.void_reason = Ticket.Status.VOID, "refunded"
        Ticket.objects.bulk_create(rows, batch_size=2000)
        staff = User.objects.bulk_create(
            User(email=f"door{d}-{run_id}@bench.invalid", password=password) for d in range(devices)
        )
        Membership.objects.bulk_create(
            Membership(organization=organization, user=user, role=Membership.Role.DOOR)
            for user in staff
        )
        tokens = [ApiToken.new_token() for _ in staff]
        ApiToken.objects.bulk_create(
            ApiToken(user=user, digest=ApiToken.digest_of(token), last_used_at=now)
            for user, token in zip(staff, tokens, strict=True)
        )
        gate = checkin_list_default(event)

    def forge(payload: str) -> str:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        signed = raw[:57]
        forged = signed + Ed25519PrivateKey.generate().sign(signed)
        return base64.urlsafe_b64encode(forged).rstrip(b"=").decode()

    valid = [t.qr_payload for t in rows[refunded:]]
    return (
        str(gate.pk),
        tokens,
        {
            "valid": valid,
            "refunded": [t.qr_payload for t in rows[:refunded]],
            "forged": [forge(p) for p in random.sample(valid, min(len(valid), 200))],
        },
    )


def scan_sequence(payloads: dict[str, list[str]], *, again: float, seed: int) -> list[str]:
    """Every valid ticket once, `again` of them a second time (some back to back, as two gates
    reading one ticket at the same moment), every refunded and forged code, and junk."""
    rng = random.Random(seed)
    valid = payloads["valid"]
    repeats = rng.sample(valid, int(len(valid) * again))
    junk = [f"https://example.com/not-a-ticket/{n}" for n in range(len(valid) // 100)]
    sequence = valid + repeats[len(repeats) // 2 :] + payloads["refunded"]
    sequence += payloads["forged"] + junk
    rng.shuffle(sequence)
    # The other half of the repeats right next to their first scan: two devices take
    # consecutive codes from the queue, so these race each other.
    for payload in repeats[: len(repeats) // 2]:
        at = sequence.index(payload)
        sequence.insert(at + 1, payload)
    return sequence


def check_database(*, list_id: str, sent: int, valid: set[str]) -> dict[str, Any]:
    import uuid

    from django.db.models import Count

    from checkin.models import Admission, Scan

    scans = Scan.objects.filter(checkin_list_id=uuid.UUID(list_id)).exclude(device_id=WARMUP_DEVICE)
    # (Warm-up scans carry their own device id; nothing else does.)
    admissions = Admission.objects.filter(checkin_list_id=uuid.UUID(list_id))
    admitted_payloads = set(admissions.values_list("ticket__qr_payload", flat=True))
    result: dict[str, Any] = {
        "scans_logged": scans.count(),
        "admissions": admissions.count(),
        "distinct_valid_tickets_scanned": len(valid),
        "admitted_tickets_not_valid": len(admitted_payloads - valid),
        "by_result": dict(scans.values_list("result").annotate(n=Count("pk"))),
    }
    problems = []
    if result["admissions"] != len(valid) or admitted_payloads != valid:
        problems.append("admissions != distinct valid tickets scanned")
    if result["scans_logged"] != sent:
        problems.append("scans logged != scans answered")
    result["problems"] = problems
    return result


# --- One run ----------------------------------------------------------------------------------


def one_run(
    args: argparse.Namespace, environ: dict[str, str], executor: ProcessPoolExecutor, n: int
) -> dict[str, Any]:
    from django.db import connections

    run_id = f"{time.strftime('%H%M%S')}-{secrets.token_hex(3)}"
    log(f"run {n}: fresh database {args.db_name}, migrate")
    fresh_database(environ, args.db_name)
    started = time.perf_counter()
    list_id, tokens, payloads = create_festival(
        tickets=args.tickets,
        devices=args.devices,
        refunded=int(args.tickets * args.refunded),
        run_id=run_id,
    )
    sequence = scan_sequence(payloads, again=args.again, seed=n)
    log(
        f"run {n}: {args.tickets} tickets, {args.devices} devices, {len(sequence)} scans "
        f"prepared in {time.perf_counter() - started:.1f} s"
    )
    server: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        log_path = Path(tempfile.gettempdir()) / f"checkin_bench_gunicorn_{os.getpid()}.log"
        url, master = stack.enter_context(gunicorn(environ, log_path))
        server = {"url": url, **gunicorn_settings(environ), "log": str(log_path)}
        spec = LoadSpec(url=url, list_id=list_id, tokens=tokens, scans=sequence, warmup=0)
        # Warm-up scans are junk from a device id the check leaves out.
        executor.submit(run_load, LoadSpec(url, list_id, tokens, [], args.warmup)).result()
        server["worker_pids"] = children_of(master)
        cpu_before = gunicorn_cpu_s(master)
        machine_before = machine_cpu()
        pg_before = postgres_backends_cpu_s(args.db_name)
        log(f"run {n}: scanning")
        load = executor.submit(run_load, spec).result()
        busy_after, total_after = machine_cpu()
        server["gunicorn_cpu_s"] = round(gunicorn_cpu_s(master) - cpu_before, 2)
        server["postgres_cpu_s"] = round(postgres_backends_cpu_s(args.db_name) - pg_before, 2)
        server["machine_cpu_busy_pct"] = round(
            100 * (busy_after - machine_before[0]) / max(1, total_after - machine_before[1]), 1
        )
    scans = load["scans"] or 1
    cpu = {
        "gunicorn_ms_per_scan": round(1000 * server["gunicorn_cpu_s"] / scans, 2),
        "postgres_ms_per_scan": round(1000 * server["postgres_cpu_s"] / scans, 2),
        "load_generator_ms_per_scan": round(1000 * load["load_process_cpu_s"] / scans, 2),
    }
    cpu["server_ms_per_scan"] = round(cpu["gunicorn_ms_per_scan"] + cpu["postgres_ms_per_scan"], 2)
    valid_scanned = set(payloads["valid"])
    db = check_database(list_id=list_id, sent=load["scans"], valid=valid_scanned)
    if load["tickets_told_admitted_twice"]:
        db["problems"].append("a ticket was told 'admitted' twice")
    if load["told_admitted"] != db["admissions"]:
        db["problems"].append("devices told 'admitted' != admissions")
    result = {
        "tickets": args.tickets,
        "devices": args.devices,
        "scans": load["scans"],
        "scans_per_s": load["scans_per_s"],
        "p95_ms": load["latency_ms"]["p95"],
        "latency_ms": load["latency_ms"],
        "seconds": load["seconds"],
        "admissions": db["admissions"],
        "distinct_valid_tickets": db["distinct_valid_tickets_scanned"],
        "admissions_equal_distinct_valid": not db["problems"],
        "reasons": load["reasons"],
        "errors": load["errors"],
        "cpu_ms_per_scan": cpu,
        "server": server,
        "db": db,
        "db_ok": not db["problems"],
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
    }
    connections.close_all()
    flush_redis(environ["REDIS_URL"])
    if not args.keep_db:
        reset_database(environ["DATABASE_URL"], args.db_name, create=False)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tickets", type=int, default=5000, help="tickets sold")
    parser.add_argument("--devices", type=int, default=20, help="devices scanning at once")
    parser.add_argument("--again", type=float, default=0.2, help="share scanned a second time")
    parser.add_argument("--refunded", type=float, default=0.02, help="share refunded")
    parser.add_argument("--runs", type=int, default=1, help="repeat; print the medians")
    parser.add_argument("--workers", type=int, help="WEB_CONCURRENCY for the bench's gunicorn")
    parser.add_argument("--threads", type=int, help="GUNICORN_THREADS for the bench's gunicorn")
    parser.add_argument("--warmup", type=int, default=200, help="junk scans before the clock")
    parser.add_argument("--db-name", default="boxoffice_bench_checkin", help="dropped, recreated")
    parser.add_argument("--redis-db", type=int, default=14, help="flushed before and after")
    parser.add_argument("--keep-db", action="store_true", help="leave the database for a look")
    args = parser.parse_args(argv)
    args.url, args.sandbox_latency_ms = None, 0  # what bench_environment also reads
    if min(args.tickets, args.devices, args.runs) < 1:
        parser.error("--tickets, --devices and --runs must be at least 1")

    return run_and_report(args, one_run)


if __name__ == "__main__":
    sys.exit(main())
