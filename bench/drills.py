"""Failure drills against the local cluster (deploy/local-cluster up) under a booking rush.

    .venv/bin/python bench/drills.py [--capacity 300 --buyers 600 --concurrency 40]
                                     [--only web_kill,primary_restart,...] [--compare]

Each drill: a fresh sale through HAProxy, a fault injected FAULT_AFTER_S into the rush, healed
after HEAL_AFTER_S (the replica after 20 s); then what PostgreSQL says once the payment
reconciler has had its rounds (bench/flash_sale.check_database: nothing oversold, no order with
extra tickets, no ticket without a paid order, every successful charge paid or refunded),
whether sold + held = capacity, confirmation messages per paid order once the outbox has
drained (exactly one message and exactly one email sent each), and the time from the fault
until the first purchase that completed after it. While the replica is down, an organizer
reads the event's dashboard through HAProxy throughout: every answer must be a 200, read from
the primary. `--compare` adds the same rush through HAProxy over two nodes + PgBouncer and
against one node directly. Each drill's result also goes to stderr as soon as it is known.
Prints one JSON object. The load generator is bench/flash_sale.py's, imported.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(BASE_DIR), str(BASE_DIR / "deploy")]

import local_cluster as cluster  # noqa: E402 - deploy/ is on the path now

from bench.flash_sale import LoadSpec, check_database, create_sale, run_load  # noqa: E402

FAULT_AFTER_S = 2.0
HEAL_AFTER_S = 5.0
# The replica stays away longer: dashboards are read throughout, and under load a read is slow.
HEAL_AFTER_S_OF = {"replica_stop": 20.0}


def django_setup() -> None:
    env = cluster.app_env()
    # The drill reads and checks the primary directly, not through the pooler it may break.
    env["DATABASE_URL"] = cluster.urls()["primary"]
    env["DATABASE_TRANSACTION_POOLING"] = "0"
    env["DB_CONN_MAX_AGE"] = "0"
    env["LOG_LEVEL"] = "WARNING"
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()


def _pid(name: str) -> int | None:
    return cluster._pid(cluster.HERE / "run" / f"{name}.pid")


def _killpg(name: str, sig: int) -> None:
    pid = _pid(name)
    if pid:
        os.killpg(pid, sig)


def _redis_pid() -> int | None:
    return cluster._pid(cluster.HERE / "redis" / "redis.pid")


def dead_processes() -> list[str]:
    """Cluster processes (web nodes, workers, beats, Redis) whose pid no longer runs."""
    pidfiles = [*(cluster.HERE / "run").glob("*.pid"), cluster.HERE / "redis" / "redis.pid"]
    return sorted(
        path.stem
        for path in pidfiles
        if not ((pid := cluster._pid(path)) and cluster.devstack.pid_alive(pid))
    )


def heal() -> list[str]:
    """Start whatever is missing (as a supervisor would); the names of what had died."""
    dead = dead_processes()
    cluster.start_missing()
    return dead


# What each drill breaks; heal() (local-cluster up) restarts whatever is missing.
def web_kill() -> None:
    _killpg(f"web-{cluster.NODES[0]}", signal.SIGKILL)


def primary_restart() -> None:
    cluster.pg_ctl(
        cluster.HERE / "primary",
        "-m",
        "fast",
        "-w",
        "restart",
        "-o",
        f"-p {cluster.PRIMARY} -k {cluster.HERE / 'primary'}",
    )


def replica_stop() -> None:
    cluster.pg_ctl(cluster.HERE / "replica", "-m", "fast", "-w", "stop")


def redis_stop() -> None:
    pid = _redis_pid()
    if pid:
        os.kill(pid, signal.SIGKILL)


def worker_kill() -> None:
    _killpg("worker-notifications", signal.SIGKILL)


DRILLS = {
    "web_kill": web_kill,
    "primary_restart": primary_restart,
    "replica_stop": replica_stop,
    "redis_stop": redis_stop,
    "worker_kill": worker_kill,
}


_CONFIRMATIONS_SQL = """
    SELECT o.id, count(DISTINCT m.id),
           count(d.id) FILTER (WHERE d.channel = 'email'),
           count(d.id) FILTER (WHERE d.channel = 'email' AND d.status = 'sent'),
           count(d.id) FILTER (WHERE d.status IN ('pending', 'sending', 'retry'))
    FROM ticketing_order o
    LEFT JOIN notifications_message m ON m.dedupe_key = 'order.confirmed:' || o.id
    LEFT JOIN notifications_delivery d ON d.message_id = m.id
    WHERE o.event_id = %s AND o.status = 'paid' GROUP BY o.id
"""
DRAIN_TIMEOUT_S = 300.0
SETTLE_TIMEOUT_S = 120.0


def _confirmation_rows(event_id: str) -> list[tuple[Any, ...]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(_CONFIRMATIONS_SQL, [event_id])
        return list(cursor.fetchall())


def confirmations(event_id: str) -> dict[str, Any]:
    """Per paid order: one confirmation message, one email sent. Counted once nothing is left to
    send (no message still unfanned, no delivery pending, sending or waiting to retry), so a
    backlog still draining is not mistaken for a lost or a missing mail."""
    started = time.monotonic()
    while True:
        rows = _confirmation_rows(event_id)
        draining = sum(1 for r in rows if r[1] == 0 or r[2] == 0 or r[4] > 0)
        if not draining or time.monotonic() - started > DRAIN_TIMEOUT_S:
            break
        time.sleep(2)
    return {
        "paid_orders": len(rows),
        "drained_after_s": round(time.monotonic() - started, 1),
        "still_draining": draining,
        "orders_without_exactly_one_message": sum(1 for r in rows if r[1] != 1),
        "orders_with_more_than_one_email": sum(1 for r in rows if r[2] > 1),
        "orders_without_exactly_one_email_sent": sum(1 for r in rows if r[3] != 1),
        "emails_sent": sum(r[3] for r in rows),
    }


def organizer_token(event_id: str) -> str:
    """An owner of the sale's organization with an API token, as a dashboard user is."""
    from django.utils import timezone

    from accounts.models import ApiToken, Membership, User
    from events.models import Event

    event = Event.objects.get(pk=event_id)
    user = User.objects.create(email=f"organizer-{event_id}@bench.invalid", full_name="Organizer")
    Membership.objects.create(
        organization_id=event.organization_id, user=user, role=Membership.Role.OWNER
    )
    token = ApiToken.new_token()
    ApiToken.objects.create(
        user=user, digest=ApiToken.digest_of(token), last_used_at=timezone.now()
    )
    return token


def replica_fallback_lines(since: datetime) -> int:
    """Web nodes' log lines since `since` saying a dashboard read went to the primary instead."""
    found = 0
    for log in (cluster.HERE / "logs").glob("web-*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if "replica unreachable; reading from the primary" not in line:
                continue
            try:
                at = datetime.fromisoformat(json.loads(line)["time"])
            except (ValueError, KeyError):
                continue
            found += at >= since
    return found


class DashboardProbe(threading.Thread):
    """Reads the event's dashboard through HAProxy every half second until stopped."""

    def __init__(self, url: str, event_id: str, token: str) -> None:
        super().__init__(daemon=True)
        self.url = f"{url}/api/v1/events/{event_id}/stats"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.answers: list[int | str] = []
        self.done = threading.Event()

    def run(self) -> None:
        import httpx

        with httpx.Client(headers=self.headers, timeout=10) as client:
            while not self.done.is_set():
                try:
                    self.answers.append(client.get(self.url).status_code)
                except httpx.HTTPError as exc:
                    self.answers.append(type(exc).__name__)
                self.done.wait(0.5)

    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for answer in self.answers:
            counts[str(answer)] = counts.get(str(answer), 0) + 1
        return {"reads": len(self.answers), "answers": counts}


def first_paid_after(event_id: str, moment: datetime) -> float | None:
    from ticketing.models import Order

    paid = (
        Order.objects.filter(event_id=event_id, status="paid", paid_at__gt=moment)
        .order_by("paid_at")
        .values_list("paid_at", flat=True)
        .first()
    )
    return round((paid - moment).total_seconds(), 3) if paid else None


def rush(
    args: argparse.Namespace, executor: ProcessPoolExecutor, url: str, fault: str | None
) -> dict[str, Any]:
    from ticketing.booking.gate import gate_sync

    # Each drill starts from a whole cluster, whatever the previous one left behind.
    dead_before = heal()
    run_id = f"drill-{fault or 'none'}-{time.strftime('%H%M%S')}"
    event_id, tier_id, tokens = create_sale(
        capacity=args.capacity, buyers=args.buyers, run_id=run_id
    )
    gate_sync(event_ids=[event_id])
    spec = LoadSpec(
        url=url, event_id=event_id, tier_id=tier_id, tokens=tokens, concurrency=args.concurrency
    )
    injected: dict[str, Any] = {}
    probe = (
        DashboardProbe(url, event_id, organizer_token(event_id))
        if fault == "replica_stop"
        else None
    )

    def inject() -> None:
        time.sleep(FAULT_AFTER_S)
        injected["at"] = datetime.now(tz=UTC)
        DRILLS[fault]()  # type: ignore[index]
        if probe:
            probe.start()
        time.sleep(HEAL_AFTER_S_OF.get(fault or "", HEAL_AFTER_S))
        if probe:
            probe.done.set()
            probe.join()
        heal()
        injected["healed_after_s"] = round(
            (datetime.now(tz=UTC) - injected["at"]).total_seconds(), 2
        )

    injector = threading.Thread(target=inject) if fault else None
    load_future = executor.submit(run_load, spec)
    if injector:
        injector.start()
    load = load_future.result()
    if injector:
        injector.join()
    # A process may die after the heal (a Celery worker can crash while its broker goes away):
    # restart it, as a supervisor would, and say so, before waiting for the confirmations.
    dead_after = heal()
    from django.db import connections

    connections.close_all()
    # A charge whose result was lost with the database (primary restart) is settled by the
    # payment reconciler (beat, every 30 s): give it a few rounds before calling it lost.
    first = db = check_database(event_id=event_id, tier_id=tier_id, buyers=args.buyers)
    settle_started = time.monotonic()
    while db["problems"] and time.monotonic() - settle_started < SETTLE_TIMEOUT_S:
        time.sleep(5)
        db = check_database(event_id=event_id, tier_id=tier_id, buyers=args.buyers)
    notes = confirmations(event_id)
    result = {
        "confirmed": load["confirmed"],
        "confirmed_per_s": load["confirmed_per_s"],
        "purchase_ms": load["purchase_ms"],
        "http_5xx": load["http_5xx"],
        "errors": load["errors"],
        "buyers_failed": load["buyers_failed"],
        "sold": db["tickets"],
        "held_in_pending_orders": db["held_in_pending_orders"],
        "sold_plus_held_equals_capacity": db["tickets"] + (db["held_in_pending_orders"] or 0)
        == args.capacity,
        "oversold": db["oversold"],
        "orders_with_extra_tickets": db["orders_with_extra_tickets"],
        "tickets_of_unpaid_orders": db["tickets_of_unpaid_orders"],
        "buyers_told_paid_equals_tickets": load["confirmed"] == db["tickets"],
        "db_problems_right_after_rush": first["problems"],
        "db_problems": db["problems"],
        "settled_after_s": round(time.monotonic() - settle_started, 1) if first["problems"] else 0,
        "confirmations": notes,
        "restarted_before_rush": dead_before,
        "restarted_after_rush": dead_after,
    }
    if fault:
        result["bookings_resumed_after_s"] = first_paid_after(event_id, injected["at"])
        result["healed_after_s"] = injected.get("healed_after_s")
    if probe:
        result["dashboard_while_replica_down"] = {
            **probe.summary(),
            "reads_sent_to_primary_logged": replica_fallback_lines(injected["at"]),
        }
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--capacity", type=int, default=300)
    parser.add_argument("--buyers", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=40)
    parser.add_argument("--only", default=",".join(DRILLS))
    parser.add_argument("--compare", action="store_true")
    args = parser.parse_args()
    django_setup()
    entry = cluster.urls()["web"]
    report: dict[str, Any] = {
        "started": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "load_avg_before": os.getloadavg(),
        "drills": {},
    }
    with ProcessPoolExecutor(max_workers=1) as executor:
        for name in [n for n in args.only.split(",") if n]:
            print(f"[drills] {name}", file=sys.stderr, flush=True)
            report["drills"][name] = rush(args, executor, entry, name)
            report["drills"][name]["load_avg"] = os.getloadavg()
            print(json.dumps({name: report["drills"][name]}), file=sys.stderr, flush=True)
        if args.compare:
            report["two_nodes_via_haproxy"] = rush(args, executor, entry, None)
            report["two_nodes_via_haproxy"]["load_avg"] = os.getloadavg()
            one = f"http://127.0.0.1:{cluster.NODES[0]}"
            report["one_node_direct"] = rush(args, executor, one, None)
            report["one_node_direct"]["load_avg"] = os.getloadavg()
    report["load_avg_after"] = os.getloadavg()
    print(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
