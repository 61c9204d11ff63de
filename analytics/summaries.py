"""Filling the summary tables: an incremental refresh (beat, every minute) and a full rebuild.

Both run the same aggregate SQL; the refresh only limits it to the (event, hour) buckets that
facts recorded since the watermark fall into, and upserts them. Facts are attributed to the hour
they happened (payment, refund, transfer, first admission, waitlist join/offer/acceptance, page
view), so recomputing a bucket from scratch is always correct and running it twice is harmless.
"""

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from analytics.models import RefreshState

REFRESH_NAME = "summaries"
# The watermark as dashboards read it (analytics.stats.stats_as_of), cached this long at most.
WATERMARK_CACHE_KEY = "analytics:watermark"
WATERMARK_CACHE_SECONDS = 2


# Re-reads this much before the watermark: a fact stamped just before the last run but committed
# just after it (or stamped by an app server whose clock runs behind) is still picked up.
def _overlap() -> timedelta:
    return timedelta(seconds=settings.ANALYTICS_REFRESH_OVERLAP_SECONDS)


# Lets only one refresh run at a time (a slow run and the next beat tick would race otherwise).
ADVISORY_LOCK_KEY = 0x616E616C  # "anal"

METRICS = (
    "orders",
    "tickets",
    "gross",
    "refunded_tickets",
    "refunds",
    "fees",
    "transfers",
    "checkins",
    "waitlist_joins",
    "waitlist_offers",
    "waitlist_accepted",
    "page_views",
    "unique_visitors",
)

# One row per fact, with the metric it adds to. `{scope}` is empty for a rebuild, and limits each
# branch to the events in `analytics_dirty` for a refresh (the final join picks the hours).
_FACTS_SQL = """
    SELECT o.event_id, l.tier_id, date_trunc('hour', o.paid_at) AS hour,
           (l.id = (SELECT min(l2.id) FROM ticketing_orderline l2
                    WHERE l2.order_id = o.id))::int AS orders,
           l.quantity AS tickets, l.unit_price * l.quantity AS gross,
           0 AS refunded_tickets, 0::numeric AS refunds, 0::numeric AS fees, 0 AS transfers,
           0 AS checkins, 0 AS waitlist_joins, 0 AS waitlist_offers, 0 AS waitlist_accepted,
           0 AS page_views, 0 AS unique_visitors
      FROM ticketing_order o JOIN ticketing_orderline l ON l.order_id = o.id
     WHERE o.paid_at IS NOT NULL {scope_order}
    UNION ALL
    SELECT o.event_id, t.tier_id, date_trunc('hour', r.created_at),
           0, 0, 0, 1, rl.amount, ol.unit_price - rl.amount, 0, 0, 0, 0, 0, 0, 0
      FROM ticketing_refundline rl
      JOIN ticketing_refund r ON r.id = rl.refund_id
      JOIN ticketing_order o ON o.id = r.order_id
      JOIN ticketing_ticket t ON t.id = rl.ticket_id
      JOIN ticketing_orderline ol ON ol.order_id = o.id AND ol.tier_id = t.tier_id
     WHERE true {scope_order}
    UNION ALL
    SELECT t.event_id, t.tier_id, date_trunc('hour', tr.decided_at),
           0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0
      FROM ticketing_transfer tr JOIN ticketing_ticket t ON t.id = tr.ticket_id
     WHERE tr.status = 'accepted' {scope_ticket}
    UNION ALL
    -- A ticket admitted through two lists is one attendee: its first admission counts, and only
    -- while the ticket is still valid (a refunded or transferred ticket's entry no longer does).
    SELECT t.event_id, t.tier_id, date_trunc('hour', min(a.admitted_at)),
           0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0
      FROM checkin_admission a JOIN ticketing_ticket t ON t.id = a.ticket_id
     WHERE t.status = 'valid' {scope_ticket}
     GROUP BY t.id, t.event_id, t.tier_id
    UNION ALL
    SELECT w.event_id, w.tier_id, date_trunc('hour', w.created_at),
           0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0
      FROM waitlist_waitlistentry w WHERE true {scope_waitlist}
    UNION ALL
    SELECT w.event_id, w.tier_id, date_trunc('hour', w.created_at),
           0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0
      FROM waitlist_offer w WHERE true {scope_waitlist}
    UNION ALL
    SELECT w.event_id, w.tier_id, date_trunc('hour', w.decided_at),
           0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0
      FROM waitlist_offer w WHERE w.status = 'accepted' {scope_waitlist}
    UNION ALL
    SELECT w.event_id, NULL, w.hour, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, w.views, w.visitors
      FROM analytics_pageviewhour w WHERE true {scope_waitlist}
"""

_SCOPES = {
    "scope_order": "AND o.event_id IN (SELECT event_id FROM analytics_dirty)",
    "scope_ticket": "AND t.event_id IN (SELECT event_id FROM analytics_dirty)",
    "scope_waitlist": "AND w.event_id IN (SELECT event_id FROM analytics_dirty)",
}

_SUM_COLUMNS = ", ".join(f"sum({m})" for m in METRICS)
_COLUMNS = ", ".join(METRICS)
_UPSERT_SQL = """
    INSERT INTO analytics_eventhourstats
           (event_id, tier_id, hour, {columns}, net, refreshed_at)
    SELECT f.event_id, f.tier_id, f.hour, {sums}, sum(gross) - sum(refunds), %(stamp)s
      FROM ({facts}) f {join_dirty}
     GROUP BY f.event_id, f.tier_id, f.hour
    ON CONFLICT ON CONSTRAINT one_stats_row_per_event_tier_hour DO UPDATE SET
           {updates}, net = EXCLUDED.net, refreshed_at = EXCLUDED.refreshed_at
"""


def _upsert_sql(*, incremental: bool) -> str:
    scopes = _SCOPES if incremental else dict.fromkeys(_SCOPES, "")
    join_dirty = (
        "JOIN analytics_dirty d ON d.event_id = f.event_id AND d.hour = f.hour"
        if incremental
        else ""
    )
    return _UPSERT_SQL.format(
        columns=_COLUMNS,
        sums=_SUM_COLUMNS,
        facts=_FACTS_SQL.format(**scopes),
        join_dirty=join_dirty,
        updates=", ".join(f"{m} = EXCLUDED.{m}" for m in METRICS),
    )


# The buckets new facts fall into; for a voided ticket also the hours of its admissions, whose
# check-in no longer counts.
_DIRTY_SQL = """
    CREATE TEMP TABLE analytics_dirty ON COMMIT DROP AS
    SELECT DISTINCT event_id, hour FROM (
        SELECT event_id, date_trunc('hour', paid_at) AS hour
          FROM ticketing_order WHERE paid_at >= %(since)s
        UNION ALL
        SELECT o.event_id, date_trunc('hour', r.created_at)
          FROM ticketing_refund r JOIN ticketing_order o ON o.id = r.order_id
         WHERE r.created_at >= %(since)s
        UNION ALL
        SELECT t.event_id, date_trunc('hour', a.admitted_at)
          FROM ticketing_refund r
          JOIN ticketing_refundline rl ON rl.refund_id = r.id
          JOIN ticketing_ticket t ON t.id = rl.ticket_id
          JOIN checkin_admission a ON a.ticket_id = t.id
         WHERE r.created_at >= %(since)s
        UNION ALL
        SELECT t.event_id, date_trunc('hour', tr.decided_at)
          FROM ticketing_transfer tr JOIN ticketing_ticket t ON t.id = tr.ticket_id
         WHERE tr.decided_at >= %(since)s
        UNION ALL
        SELECT t.event_id, date_trunc('hour', a.admitted_at)
          FROM ticketing_transfer tr
          JOIN ticketing_ticket t ON t.id = tr.ticket_id
          JOIN checkin_admission a ON a.ticket_id = t.id
         WHERE tr.decided_at >= %(since)s
        UNION ALL
        -- A new admission can move its ticket's first admission (an offline scan synced late).
        SELECT t.event_id, date_trunc('hour', other.admitted_at)
          FROM checkin_scan s
          JOIN checkin_admission a ON a.scan_id = s.id
          JOIN checkin_admission other ON other.ticket_id = a.ticket_id
          JOIN ticketing_ticket t ON t.id = a.ticket_id
         WHERE s.received_at >= %(since)s
        UNION ALL
        SELECT event_id, date_trunc('hour', created_at)
          FROM waitlist_waitlistentry WHERE created_at >= %(since)s
        UNION ALL
        SELECT event_id, date_trunc('hour', created_at)
          FROM waitlist_offer WHERE created_at >= %(since)s
        UNION ALL
        SELECT event_id, date_trunc('hour', decided_at)
          FROM waitlist_offer WHERE decided_at >= %(since)s
        UNION ALL
        SELECT event_id, hour FROM analytics_pageviewhour WHERE updated_at >= %(since)s
    ) changed
"""

_STALE_DELETE_SQL = """
    DELETE FROM analytics_eventhourstats s USING analytics_dirty d
     WHERE s.event_id = d.event_id AND s.hour = d.hour AND s.refreshed_at < %(stamp)s
"""

# Ratings: an event whose feedback changed (written, edited, hidden or shown) is recomputed whole;
# an event has a few hundred days at most.
_RATING_EVENTS_SQL = """
    CREATE TEMP TABLE analytics_rating_dirty ON COMMIT DROP AS
    SELECT event_id FROM events_feedback WHERE updated_at >= %(since)s
    UNION
    SELECT f.event_id FROM accounts_auditentry a
      JOIN events_feedback f ON a.target_id = f.id::text
     WHERE a.target_type = 'events.feedback' AND a.created_at >= %(since)s
"""
_RATING_SQL = """
    INSERT INTO analytics_eventdayrating
           (event_id, day, rating_count, rating_sum, rating_mean, refreshed_at)
    SELECT event_id, (created_at AT TIME ZONE 'UTC')::date, count(*), sum(rating),
           round(avg(rating), 2), %(stamp)s
      FROM events_feedback f
     WHERE NOT hidden {scope}
     GROUP BY event_id, (created_at AT TIME ZONE 'UTC')::date
"""


@dataclass(frozen=True)
class RefreshOutcome:
    ran: bool
    buckets: int
    seconds: float
    watermark: datetime | None


def _repeatable_read(outermost: bool) -> None:
    # One snapshot for finding the changed buckets and recomputing them (a test's wrapping
    # transaction has its own level already).
    if not outermost:
        return
    with connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def _run_start() -> datetime:
    with connection.cursor() as cursor:
        cursor.execute("SELECT transaction_timestamp()")
        stamp: datetime = cursor.fetchone()[0]
    return stamp


def summaries_refresh() -> RefreshOutcome:
    """Recompute the buckets changed since the last run (skipped while another run is on)."""
    started = time.monotonic()
    outermost = not connection.in_atomic_block
    with transaction.atomic(durable=True):
        _repeatable_read(outermost)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
            if not cursor.fetchone()[0]:
                return RefreshOutcome(ran=False, buckets=0, seconds=0.0, watermark=None)
        stamp = _run_start()
        state = RefreshState.objects.filter(name=REFRESH_NAME).first()
        if state is None:
            return _rebuild_locked(stamp, started)
        since = state.watermark - _overlap()
        with connection.cursor() as cursor:
            cursor.execute(_DIRTY_SQL, {"since": since})
            cursor.execute("SELECT count(*) FROM analytics_dirty")
            buckets = int(cursor.fetchone()[0])
            if buckets:
                cursor.execute("ANALYZE analytics_dirty")
                cursor.execute(_upsert_sql(incremental=True), {"stamp": stamp})
                cursor.execute(_STALE_DELETE_SQL, {"stamp": stamp})
            cursor.execute(_RATING_EVENTS_SQL, {"since": since})
            cursor.execute(
                "DELETE FROM analytics_eventdayrating "
                "WHERE event_id IN (SELECT event_id FROM analytics_rating_dirty)"
            )
            cursor.execute(
                _RATING_SQL.format(
                    scope="AND event_id IN (SELECT event_id FROM analytics_rating_dirty)"
                ),
                {"stamp": stamp},
            )
        return _save_state(stamp, started, buckets)


def summaries_rebuild() -> RefreshOutcome:
    """Empty the summary tables and refill them from every raw row (after a running refresh)."""
    started = time.monotonic()
    outermost = not connection.in_atomic_block
    with transaction.atomic(durable=True):
        _repeatable_read(outermost)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
        return _rebuild_locked(_run_start(), started)


def _rebuild_locked(stamp: datetime, started: float) -> RefreshOutcome:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM analytics_eventhourstats")
        cursor.execute("DELETE FROM analytics_eventdayrating")
        cursor.execute(_upsert_sql(incremental=False), {"stamp": stamp})
        buckets = cursor.rowcount
        cursor.execute(_RATING_SQL.format(scope=""), {"stamp": stamp})
    return _save_state(stamp, started, buckets)


def _save_state(stamp: datetime, started: float, buckets: int) -> RefreshOutcome:
    seconds = time.monotonic() - started
    # Forgotten now, for readers inside this transaction, and again once it commits, for a
    # reader that cached the old watermark in between.
    cache.delete(WATERMARK_CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(WATERMARK_CACHE_KEY))
    RefreshState.objects.update_or_create(
        name=REFRESH_NAME,
        defaults={
            "watermark": stamp,
            "last_run_at": timezone.now(),
            "last_run_seconds": seconds,
            "buckets_refreshed": buckets,
        },
    )
    return RefreshOutcome(ran=True, buckets=buckets, seconds=seconds, watermark=stamp)
