"""Prometheus metrics: what each process counts, and what is read from the stores at scrape time.

Counters and histograms live in each process; under gunicorn and Celery's prefork pool they are
written to PROMETHEUS_MULTIPROC_DIR and summed at scrape time (prometheus_client's multiprocess
mode). State that every process shares (outbox backlog, replica lag, connections) is read when
/metrics is scraped, so it is never a stale per-process copy.
"""

import logging
import os
import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUEST_DURATION = Histogram(
    "boxoffice_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern (never the raw path).",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
BOOKING_OUTCOMES = Counter(
    "boxoffice_booking_outcomes_total",
    "Bookings by how they ended: confirmed, sold_out, declined, expired.",
    ["outcome"],
)
DATABASE_UNAVAILABLE = Counter(
    "boxoffice_database_unavailable_total",
    "Requests answered 503 because PostgreSQL could not be reached.",
)
TASK_DURATION = Histogram(
    "boxoffice_celery_task_duration_seconds",
    "Celery task run time, by task and queue.",
    ["task", "queue", "state"],
    buckets=LATENCY_BUCKETS,
)
TASK_RETRIES = Counter(
    "boxoffice_celery_task_retries_total",
    "Celery task retries, by task and queue.",
    ["task", "queue"],
)
TASK_FAILURES = Counter(
    "boxoffice_celery_task_failures_total",
    "Celery tasks that raised, by task and queue.",
    ["task", "queue"],
)

# The error codes of the API's booking answers that are booking outcomes.
OUTCOME_OF_ERROR = {
    "SOLD_OUT": "sold_out",
    "SEAT_TAKEN": "sold_out",
    "PAYMENT_DECLINED": "declined",
}


def booking_outcome(outcome: str, amount: int = 1) -> None:
    if amount:
        BOOKING_OUTCOMES.labels(outcome=outcome).inc(amount)


def _database_is_separate(alias: str) -> bool:
    if alias not in settings.DATABASES:
        return False
    mine, primary = settings.DATABASES[alias], settings.DATABASES["default"]
    return any(mine.get(k) != primary.get(k) for k in ("HOST", "PORT", "NAME"))


def _scalar(alias: str, sql: str) -> Any:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql)
        row = cursor.fetchone()
    return row[0] if row else None


class StoresCollector(Collector):
    """Shared state, read at scrape time: outbox, gate, connections and replica lag."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self._outbox()
        yield from self._connections()
        yield from self._replica()
        yield from self._gate()

    def _outbox(self) -> Iterator[GaugeMetricFamily]:
        from notifications.models import Delivery, Message

        backlog = GaugeMetricFamily(
            "boxoffice_outbox_backlog", "Outbox rows not yet handled, by kind.", labels=["kind"]
        )
        lag = GaugeMetricFamily(
            "boxoffice_outbox_lag_seconds",
            "Age of the oldest outbox row not yet handled, by kind (0 when none).",
            labels=["kind"],
        )
        failed = GaugeMetricFamily(
            "boxoffice_deliveries_failed",
            "Deliveries that gave up, by channel.",
            labels=["channel"],
        )
        try:
            for kind, rows in (
                ("message", Message.objects.filter(status=Message.Status.PENDING)),
                ("delivery", Delivery.objects.filter(status__in=["pending", "sending", "retry"])),
            ):
                count = rows.count()
                oldest = rows.order_by("created_at").values_list("created_at", flat=True).first()
                backlog.add_metric([kind], count)
                lag.add_metric([kind], time.time() - oldest.timestamp() if oldest else 0.0)
            for channel, count in _failed_deliveries():
                failed.add_metric([channel], count)
        except DatabaseError as exc:
            logger.warning("metrics: outbox not readable: %s", exc)
            return
        yield backlog
        yield lag
        yield failed

    def _connections(self) -> Iterator[GaugeMetricFamily]:
        used = GaugeMetricFamily(
            "boxoffice_database_connections",
            "PostgreSQL server connections to this database, by state.",
            labels=["state"],
        )
        limit = GaugeMetricFamily(
            "boxoffice_database_max_connections", "PostgreSQL's max_connections."
        )
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute(
                    "SELECT coalesce(state, 'other'), count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() GROUP BY 1"
                )
                for state, count in cursor.fetchall():
                    used.add_metric([state], count)
                cursor.execute("SELECT current_setting('max_connections')::int")
                limit.add_metric([], cursor.fetchone()[0])
        except DatabaseError as exc:
            logger.warning("metrics: pg_stat_activity not readable: %s", exc)
            return
        yield used
        yield limit

    def _replica(self) -> Iterator[GaugeMetricFamily]:
        if not _database_is_separate("replica"):
            return
        up = GaugeMetricFamily("boxoffice_replica_up", "1 when the read replica answers.")
        lag = GaugeMetricFamily(
            "boxoffice_replica_lag_seconds",
            "How far the replica's replay is behind (0 when it has replayed all it received).",
        )
        try:
            seconds = _scalar(
                "replica",
                "SELECT CASE WHEN NOT pg_is_in_recovery() "
                "OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
                "ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END",
            )
        except DatabaseError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        lag.add_metric([], float(seconds or 0))
        yield up
        yield lag

    def _gate(self) -> Iterator[GaugeMetricFamily]:
        from django_redis import get_redis_connection
        from redis.exceptions import RedisError

        up = GaugeMetricFamily(
            "boxoffice_gate_up",
            "1 when the Redis admission gate answers (0: booking goes to PostgreSQL alone).",
        )
        counters = GaugeMetricFamily(
            "boxoffice_gate_counters", "Ticket tiers the admission gate keeps a counter for."
        )
        prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
        try:
            client = get_redis_connection("default")
            found = sum(
                1
                for key in client.scan_iter(match=f"{prefix}:gate:*", count=1000)
                if b":admitted:" not in key and not key.endswith(b":check")
            )
        except RedisError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 0 if getattr(settings, "BOXOFFICE_GATE_DISABLED", False) else 1)
        counters.add_metric([], found)
        yield up
        yield counters


def _failed_deliveries() -> list[tuple[str, int]]:
    from django.db.models import Count

    from notifications.models import Delivery

    rows = (
        Delivery.objects.filter(status="failed")
        .values_list("channel")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return [(channel, n) for channel, n in rows]


def exposition() -> tuple[bytes, str]:
    """The text every scrape gets: this process's (or all processes') metrics plus shared state."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        for collector in list(REGISTRY._collector_to_names):
            registry.register(collector)
    registry.register(StoresCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST
