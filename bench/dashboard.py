"""Organizer dashboards at scale: page latency, summary refresh time and a 50,000-row export.

    DATABASE_URL=postgres://.../boxoffice_scale REDIS_URL=redis://127.0.0.1:6379/7 \
        .venv/bin/python bench/dashboard.py                 # 20 clients, 15 s per scenario

The database must hold the scale dataset (`manage.py seed_scale`). The first run adds one
organizer who owns the organization with the most events, plus one event of theirs with 50,000
sold tickets (idempotent: later runs reuse it), and rebuilds the summary tables. Then it:

1. starts gunicorn (config/gunicorn.conf.py, DEBUG=0) and measures, with --concurrency clients
   (aiohttp, keep-alive, in a separate process), the per-event dashboard (the big event and the
   organizer's other events), the cross-event dashboard (/manage/, 7 and 30 days) and the attendee
   search (misspelt names of the big event): p50/p95/p99 in ms; then the same searches from
   one client alone (attendee_search_one_client_ms);
2. streams the big event's CSV export once and reports its time and the serving worker's
   resident memory growth (peak RSS during the export minus RSS before);
3. inserts --new-orders paid orders across events and times one incremental refresh cycle.

Prints one JSON object with at least event_dashboard_ms, org_dashboard_ms, attendee_search_ms
(p50, p95), refresh_s, export_s, export_rss_mb, plus the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench.browse import in_process, run_scenario  # noqa: E402 - after the path fix above
from bench.flash_sale import (  # noqa: E402
    gunicorn,
    gunicorn_cpu_s,
    postgres_backends_cpu_s,
)

BIG_TITLE = "Bench arena night (50k)"
ORGANIZER_EMAIL = "bench-organizer@boxoffice.local"
FIRST = [
    "Anna",
    "Bartholomew",
    "Chiara",
    "Dmitri",
    "Emeka",
    "Fatima",
    "Gunnar",
    "Hiroshi",
    "Ingrid",
    "Jamal",
]
FIRST += ["Katarzyna", "Luis", "Margarethe", "Nkechi", "Oskar", "Priya"]
LAST = [
    "Vandersloot",
    "Quigley",
    "Okonkwo",
    "Schneider",
    "Takahashi",
    "Fernandez",
    "Kowalski",
    "Lindqvist",
]
LAST += ["Haddad", "Nakamura", "Oyelaran", "Petrov", "Rossi", "Svensson"]
# Misspelt surnames and first names, as an organizer types them at the door.
TYPOS = [
    "vandersloth",
    "quigly",
    "okonkow",
    "schnieder",
    "takahasi",
    "fernandes",
    "kowalsky",
    "lindqvst",
]
TYPOS += ["hadad", "nakamora", "margarete", "bartolomew", "katarzina", "hiroshy"]


def log(message: str) -> None:
    print(f"[dashboard] {message}", file=sys.stderr, flush=True)


def setup_django(secret: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["SECRET_KEY"] = secret  # the session cookie must be valid for gunicorn too
    import django

    django.setup()


def ensure_dataset(tickets: int) -> dict[str, Any]:
    """The bench organizer, their organization and the 50,000-ticket event (created once)."""
    from django.db import connection, transaction
    from django.db.models import Count
    from django.utils import timezone

    from accounts.models import Membership, Organization, User
    from events.models import Event, TicketTier

    org_id = (
        Event.objects.values("organization_id")
        .order_by()
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("organization_id", flat=True)
        .first()
    )
    if org_id is None:
        raise SystemExit("No events: run `manage.py seed_scale` first.")
    organization = Organization.objects.get(pk=org_id)
    user, _ = User.objects.get_or_create(
        email=ORGANIZER_EMAIL, defaults={"full_name": "Bench Organizer"}
    )
    Membership.objects.get_or_create(
        organization=organization, user=user, defaults={"role": Membership.Role.OWNER}
    )
    big = Event.objects.filter(title=BIG_TITLE).first()
    if big is None:
        log(f"creating the {tickets}-ticket event")
        template = Event.objects.filter(organization=organization).first()
        if template is None:
            raise SystemExit("The organization has no event to copy a venue from.")
        with transaction.atomic():
            big = Event.objects.create(
                organization=organization,
                venue=template.venue,
                title=BIG_TITLE,
                slug="bench-arena-night",
                starts_at=timezone.now() + timedelta(days=10),
                ends_at=timezone.now() + timedelta(days=10, hours=4),
                status=Event.Status.PUBLISHED,
                currency="EUR",
            )
            tier = TicketTier.objects.create(
                event=big, name="Standing", price="39.00", capacity=tickets, sold_count=tickets
            )
            names = [f"{f} {last}" for f in FIRST for last in LAST]
            with connection.cursor() as cursor:
                cursor.execute(
                    """
                    WITH buyers AS (
                        SELECT id, row_number() OVER (ORDER BY id) AS n
                          FROM accounts_user WHERE NOT is_staff LIMIT %(n)s
                    ), counted AS (SELECT count(*) AS c FROM buyers),
                    o AS (
                        INSERT INTO ticketing_order (id, buyer_id, event_id, status, total,
                               currency, expires_at, idempotency_key, request_digest, created_at,
                               paid_at)
                        SELECT gen_random_uuid(), b.id, %(event)s, 'paid', 39.00, 'EUR',
                               now(), 'bench-' || g, '',
                               now() - (g %% 720) * interval '1 hour',
                               now() - (g %% 720) * interval '1 hour' + interval '1 minute'
                          FROM generate_series(1, %(n)s) g
                          JOIN buyers b ON b.n = 1 + (g %% (SELECT c FROM counted))
                        RETURNING id, buyer_id, paid_at
                    ), l AS (
                        INSERT INTO ticketing_orderline (order_id, tier_id, quantity, unit_price)
                        SELECT id, %(tier)s, 1, 39.00 FROM o RETURNING order_id
                    )
                    INSERT INTO ticketing_ticket (id, order_id, event_id, tier_id, holder_id,
                           attendee_name, status, void_reason, qr_payload, issued_at)
                    SELECT gen_random_uuid(), o.id, %(event)s, %(tier)s, o.buyer_id,
                           (%(names)s::text[])[1 + floor(random() * %(k)s)::int], 'valid', '',
                           'bench', o.paid_at
                      FROM o
                    """,
                    {
                        "n": tickets,
                        "event": big.pk,
                        "tier": tier.pk,
                        "names": names,
                        "k": len(names),
                    },
                )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    with connection.cursor() as cursor:
        # seed_scale stamps some orders as paid in the future (relative to their event): a
        # watermark would see those as new on every run. Real payments are never in the future.
        cursor.execute(
            "UPDATE ticketing_order SET paid_at = now() - random() * interval '60 days' "
            "WHERE paid_at > now()"
        )
        if cursor.rowcount:
            log(f"moved {cursor.rowcount} future payments into the past")
    from analytics.summaries import summaries_rebuild

    started = time.monotonic()
    outcome = summaries_rebuild()
    rebuild_s = round(time.monotonic() - started, 2)
    log(f"summary rebuild: {outcome.buckets} buckets in {rebuild_s} s")
    return {
        "user": user,
        "organization": organization,
        "big": big,
        "others": list(
            Event.objects.filter(organization=organization)
            .exclude(pk=big.pk)
            .values_list("pk", flat=True)[:50]
        ),
        "rebuild_s": rebuild_s,
    }


def session_cookie(user: Any) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def add_orders(count: int) -> None:
    """`count` new paid one-ticket orders spread over the published events (as a rush would)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH tiers AS (
                SELECT t.id, t.event_id, t.price, row_number() OVER () AS n
                  FROM events_tickettier t JOIN events_event e ON e.id = t.event_id
                 WHERE e.status = 'published' LIMIT 5000
            ), tc AS (SELECT count(*) AS c FROM tiers),
            buyers AS (SELECT id, row_number() OVER () AS n FROM accounts_user LIMIT 5000),
            bc AS (SELECT count(*) AS c FROM buyers),
            picks AS (
                SELECT g, t.id AS tier_id, t.event_id, t.price, b.id AS buyer_id,
                       gen_random_uuid() AS order_id
                  FROM generate_series(1, %(n)s) g
                  JOIN tiers t ON t.n = 1 + (g * 7919 %% (SELECT c FROM tc))
                  JOIN buyers b ON b.n = 1 + (g %% (SELECT c FROM bc))
            ), o AS (
                INSERT INTO ticketing_order (id, buyer_id, event_id, status, total, currency,
                       expires_at, idempotency_key, request_digest, created_at, paid_at)
                SELECT order_id, buyer_id, event_id, 'paid', price, 'EUR', now(),
                       'bench-new-' || order_id, '', now(), now()
                  FROM picks RETURNING id
            ), l AS (
                INSERT INTO ticketing_orderline (order_id, tier_id, quantity, unit_price)
                SELECT order_id, tier_id, 1, price FROM picks RETURNING order_id
            )
            INSERT INTO ticketing_ticket (id, order_id, event_id, tier_id, holder_id,
                   attendee_name, status, void_reason, qr_payload, issued_at)
            SELECT gen_random_uuid(), order_id, event_id, tier_id, buyer_id, 'Bench Buyer',
                   'valid', '', 'bench', now()
              FROM picks
            """,
            {"n": count},
        )


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    try:
        return [int(p) for p in children.read_text().split()]
    except OSError:
        return []


def measure_export(base: str, master: int, path: str, cookie: str) -> dict[str, Any]:
    """Stream the export once; peak RSS growth of the busiest worker while it ran."""
    workers = worker_pids(master)
    before = {pid: rss_kb(pid) for pid in workers}
    peak = dict(before)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for pid in workers:
                peak[pid] = max(peak.get(pid, 0), rss_kb(pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    request = urllib.request.Request(base + path, headers={"Cookie": cookie})  # noqa: S310
    size = rows = 0
    with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310 - our own server
        while chunk := response.read(65536):
            size += len(chunk)
            rows += chunk.count(b"\n")
    took = time.monotonic() - started
    done.set()
    sampler.join()
    growth = max((peak[pid] - before.get(pid, 0) for pid in workers), default=0)
    return {
        "export_s": round(took, 2),
        "export_rss_mb": round(growth / 1024, 1),
        "export_rows": rows - 1,
        "export_bytes": size,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per scenario")
    parser.add_argument("--warmup", type=int, default=100, help="requests before each scenario")
    parser.add_argument("--big-tickets", type=int, default=50_000)
    parser.add_argument("--new-orders", type=int, default=10_000)
    parser.add_argument("--workers", type=int, help="WEB_CONCURRENCY (default: gunicorn.conf)")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--port", type=int, help="gunicorn's port (default: a free one)")
    parser.add_argument(
        "--only",
        choices=["event_dashboard", "org_dashboard", "attendee_search"],
        help="measure this page alone (for profiling; skips the export and the refresh)",
    )
    args = parser.parse_args(argv)
    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        raise SystemExit("Set DATABASE_URL (the seeded scale database) and REDIS_URL.")
    secret = secrets.token_urlsafe(50)
    setup_django(secret)
    from django.db import connection

    load_before = os.getloadavg()
    data = ensure_dataset(args.big_tickets)
    cookie = session_cookie(data["user"])
    big = data["big"].pk
    rng = random.Random(args.seed)
    count = int(args.duration * 1000) + args.warmup
    events = [big, *data["others"]]
    scenarios = {
        "event_dashboard": [
            f"/manage/events/{rng.choice(events) if rng.random() < 0.5 else big}/dashboard"
            for _ in range(count)
        ],
        "org_dashboard": [f"/manage/?period={rng.choice(['7d', '30d'])}" for _ in range(count)],
        "attendee_search": [
            f"/manage/events/{big}/attendees/?q={rng.choice(TYPOS)}" for _ in range(count)
        ],
    }
    environ = dict(os.environ)
    environ.update(
        DEBUG="0",
        SECRET_KEY=secret,
        SECURE_SSL_REDIRECT="0",
        ALLOWED_HOSTS="127.0.0.1",
        PYTHONPYCACHEPREFIX=str(Path(tempfile.gettempdir()) / "boxoffice_bench_pyc"),
    )
    if args.workers:
        environ["WEB_CONCURRENCY"] = str(args.workers)
    results: dict[str, Any] = {
        "concurrency": args.concurrency,
        "duration_s": args.duration,
        "cpus": os.cpu_count(),
        "big_event_tickets": args.big_tickets,
        "rebuild_s": data["rebuild_s"],
        "load_average_before": [round(x, 2) for x in load_before],
    }
    # Production settings serve hashed static files from a manifest: build it first.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        env=environ,
        cwd=BASE_DIR,
        check=True,
    )
    log_path = Path(tempfile.gettempdir()) / "boxoffice_bench_dashboard.log"
    database = connection.settings_dict["NAME"]
    if args.only:
        scenarios = {args.only: scenarios[args.only]}
    with gunicorn(environ, log_path, port=args.port) as (base, master):
        for name, urls in scenarios.items():
            headers = {"Cookie": cookie}
            in_process(run_signed_in, base, urls[: args.warmup], args.concurrency, 600.0, headers)
            log(f"{name}: measuring for {args.duration} s")
            web_before = gunicorn_cpu_s(master)
            pg_before = postgres_backends_cpu_s(database)
            outcome = in_process(
                run_signed_in, base, urls[args.warmup :], args.concurrency, args.duration, headers
            )
            answered = max(outcome["requests"], 1)
            # CPU per request from /proc, per process tree: unlike latency, it does not depend on
            # what else the shared machine runs (the PostgreSQL figure includes whatever else
            # uses that server, and what it reaped from ended backends).
            outcome["cpu_ms_per_request"] = {
                "web": round((gunicorn_cpu_s(master) - web_before) * 1000 / answered, 2),
                "postgres": round(
                    (postgres_backends_cpu_s(database) - pg_before) * 1000 / answered, 2
                ),
                "loadgen": round(outcome.pop("loadgen_cpu_s") * 1000 / answered, 2),
            }
            outcome["cpu_ms_per_request"]["total"] = round(
                sum(outcome["cpu_ms_per_request"].values()), 2
            )
            results[name + "_ms"] = {k[:-3]: v for k, v in outcome.items() if k.endswith("_ms")}
            results[name + "_detail"] = outcome
            log(f"{name}: {outcome}")
        if args.only:
            print(json.dumps(results, indent=2, default=str))
            return 0
        # The same searches from one organizer alone: how long a search takes when it does not
        # queue behind nineteen others for the two cores.
        searches = scenarios["attendee_search"][args.warmup :]
        log(f"attendee_search, one client: measuring for {args.duration} s")
        alone = in_process(run_signed_in, base, searches, 1, args.duration, {"Cookie": cookie})
        alone.pop("loadgen_cpu_s")
        results["attendee_search_one_client_ms"] = {
            k[:-3]: v for k, v in alone.items() if k.endswith("_ms")
        }
        results["attendee_search_one_client_detail"] = alone
        log(f"attendee_search, one client: {alone}")
        results.update(
            measure_export(base, master, f"/manage/events/{big}/attendees/?export=csv", cookie)
        )
        log(f"export: {results['export_s']} s, +{results['export_rss_mb']} MB")
    from analytics.summaries import summaries_refresh

    summaries_refresh()  # start from a caught-up watermark
    add_orders(args.new_orders)
    started = time.monotonic()
    outcome = summaries_refresh()
    results["refresh_s"] = round(time.monotonic() - started, 2)
    results["refresh_buckets"] = outcome.buckets
    results["refresh_new_orders"] = args.new_orders
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(results, indent=2, default=str))
    return 0


def run_signed_in(
    base: str, urls: list[str], concurrency: int, duration: float, headers: dict[str, str]
) -> dict[str, Any]:
    """bench.browse's load loop with the organizer's session cookie on every request, and the
    CPU the load process used for it."""
    started = time.process_time()
    outcome = run_scenario(base, urls, concurrency, duration, headers=headers, timeout_s=60)
    outcome["loadgen_cpu_s"] = time.process_time() - started
    return outcome


if __name__ == "__main__":
    raise SystemExit(main())
