"""Dashboard figures read from the summary tables (never from raw order rows), with the time
they are true as of. Reads go through the reporting router (core/replica.py)."""

import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar, cast

from django.core.cache import cache
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.models import EventDayRating, EventHourStats, RefreshState
from analytics.summaries import REFRESH_NAME, WATERMARK_CACHE_KEY, WATERMARK_CACHE_SECONDS
from events.models import Event

ZERO = Decimal("0.00")
COUNTS = (
    "orders",
    "tickets",
    "refunded_tickets",
    "transfers",
    "checkins",
    "waitlist_joins",
    "waitlist_offers",
    "waitlist_accepted",
    "page_views",
    "unique_visitors",
)
MONEY = ("gross", "refunds", "fees", "net")
T = TypeVar("T")


def stats_as_of() -> datetime | None:
    """The moment the summary tables were last brought up to date.

    Read through the cache for WATERMARK_CACHE_SECONDS: every dashboard request asks, and the
    refresh forgets it when it moves the watermark (analytics.summaries)."""
    stored = cache.get(WATERMARK_CACHE_KEY)
    if stored is not None:
        return stored or None  # "": no refresh has run yet
    # From the database the figures are read from (a replica may lag the primary): a watermark
    # the replica has not reached yet would label older figures with a newer time.
    state = RefreshState.objects.filter(name=REFRESH_NAME).only("watermark").first()
    watermark = state.watermark if state else None
    cache.set(WATERMARK_CACHE_KEY, watermark or "", WATERMARK_CACHE_SECONDS)
    return watermark


# Figures change only when the refresh moves the watermark (once a minute), so each one is
# computed once per watermark and scope instead of on every request: under 20 organizers
# reloading, recomputing the same sums over the summary rows was most of a dashboard's time.
STATS_CACHE_SECONDS = 120
# While one request computes a scope's figures for a new watermark, the others keep serving the
# previous ones (true as of their own, older time, which they show) instead of all computing
# the same thing at once; past this many seconds another request may try.
RECOMPUTE_LOCK_SECONDS = 30


def once_per_refresh(scope: Any, compute: Callable[[], T], *, version: Any = None) -> T:
    """`compute()` for `scope` as of the current watermark (and `version`, e.g. the minute a
    period ends in), from the cache when it is there."""
    fresh = (stats_as_of(), version)
    digest = hashlib.sha256(repr(scope).encode()).hexdigest()[:40]
    key = f"analytics:stats:{digest}"
    found = cache.get(key)
    if found is not None and found[0] == fresh:
        return cast(T, found[1])
    lock = f"{key}:computing"
    if found is not None and not cache.add(lock, 1, RECOMPUTE_LOCK_SECONDS):
        return cast(T, found[1])
    try:
        value = compute()
        cache.set(key, (fresh, value), STATS_CACHE_SECONDS)
    finally:
        cache.delete(lock)
    return value


@dataclass
class Totals:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    # Per currency: events of one organizer may sell in several.
    money: dict[str, dict[str, Decimal]] = field(default_factory=dict)

    def add(self, row: dict[str, Any], currency: str) -> None:
        for name in COUNTS:
            self.counts[name] += row.get(name) or 0
        bucket = self.money.setdefault(currency, dict.fromkeys(MONEY, ZERO))
        for name in MONEY:
            value = row.get(name)
            bucket[name] += value if value is not None else ZERO

    @property
    def tickets_sold(self) -> int:
        return self.counts["tickets"]

    @property
    def conversion(self) -> float | None:
        """Paid orders per event page view."""
        views = self.counts["page_views"]
        return self.counts["orders"] / views if views else None

    def money_of(self, name: str) -> dict[str, Decimal]:
        return {currency: values[name] for currency, values in sorted(self.money.items())}


def _sums() -> dict[str, Any]:
    return {name: Sum(name) for name in (*COUNTS, *MONEY)}


def _totals(rows: QuerySet[EventHourStats], currencies: dict[Any, str]) -> Totals:
    totals = Totals()
    for row in rows.values("event_id").annotate(**_sums()):
        totals.add(dict(row), currencies.get(row["event_id"], ""))
    return totals


def change(current: float | None, previous: float | None) -> float | None:
    """Relative change against the previous period, or None when there is nothing to compare."""
    if current is None or not previous:
        return None
    return (current - previous) / previous


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    @property
    def previous(self) -> "Period":
        return Period(start=self.start - (self.end - self.start), end=self.start)

    @property
    def hours(self) -> float:
        return max((self.end - self.start).total_seconds() / 3600, 1.0)

    @property
    def bucket(self) -> timedelta:
        """What one point of the period's series covers: an hour, or a day past three days."""
        return timedelta(hours=1) if self.hours <= 72 else timedelta(days=1)


def period_named(name: str, *, now: datetime | None = None) -> Period:
    """today (since local midnight, UTC here), 7d or 30d, ending now."""
    now = now or timezone.now()
    if name == "today":
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return Period(start=start, end=now)
    days = {"7d": 7, "30d": 30}.get(name, 7)
    return Period(start=now - timedelta(days=days), end=now)


@dataclass
class OrganizerStats:
    period: Period
    totals: Totals
    previous: Totals
    checkin_rate: float | None
    previous_checkin_rate: float | None
    series: list[dict[str, Any]]
    top_events: list[dict[str, Any]]
    as_of: datetime | None

    @property
    def booking_rate(self) -> float:
        """Paid orders per hour over the period."""
        return self.totals.counts["orders"] / self.period.hours

    @property
    def previous_booking_rate(self) -> float:
        return self.previous.counts["orders"] / self.period.previous.hours

    @property
    def booking_rate_trend(self) -> float | None:
        return change(self.booking_rate, self.previous_booking_rate)


def _checkin_rate(events: QuerySet[Event], period: Period) -> float | None:
    """Admitted valid tickets over valid tickets, for the events held in the period."""
    held = events.filter(starts_at__gte=period.start, starts_at__lt=period.end)
    row = EventHourStats.objects.filter(event__in=held.values("pk")).aggregate(
        tickets=Sum("tickets"), refunded=Sum("refunded_tickets"), checkins=Sum("checkins")
    )
    valid = (row["tickets"] or 0) - (row["refunded"] or 0)
    return (row["checkins"] or 0) / valid if valid > 0 else None


def period_minute(period: Period) -> tuple[datetime, datetime]:
    """The period's bounds to the minute: the buckets are hours, so seconds change nothing."""
    return (
        period.start.replace(second=0, microsecond=0),
        period.end.replace(second=0, microsecond=0),
    )


def organizer_stats(events: QuerySet[Event], period: Period) -> OrganizerStats:
    """Figures over `events` (already scoped to what the user may see) for a period and the
    one before it, an hourly or daily series and the top events by net revenue."""
    currencies = dict(events.values_list("pk", "currency"))
    # The scope is the exact set of events (so a changed membership is a different entry).
    scope = ("organizer", sorted(map(str, currencies)), period_minute(period))
    return once_per_refresh(scope, lambda: _organizer_stats(events, period, currencies))


def _organizer_stats(
    events: QuerySet[Event], period: Period, currencies: dict[Any, str]
) -> OrganizerStats:
    scoped = EventHourStats.objects.filter(event__in=events.values("pk"))
    current = scoped.filter(hour__gte=period.start, hour__lt=period.end)
    previous = scoped.filter(hour__gte=period.previous.start, hour__lt=period.previous.end)
    bucket = TruncHour("hour") if period.bucket == timedelta(hours=1) else TruncDay("hour")
    series = [
        {
            "at": row["at"],
            "tickets": row["tickets"] or 0,
            "orders": row["orders"] or 0,
            "net": row["net"] or ZERO,
            "checkins": row["checkins"] or 0,
            "page_views": row["page_views"] or 0,
        }
        for row in current.annotate(at=bucket)
        .values("at")
        .annotate(
            tickets=Sum("tickets"),
            orders=Sum("orders"),
            net=Sum("net"),
            checkins=Sum("checkins"),
            page_views=Sum("page_views"),
        )
        .order_by("at")
    ]
    top = list(
        current.values("event_id", "event__title", "event__currency")
        .annotate(
            tickets=Sum("tickets"),
            net=Sum("net"),
            page_views=Sum("page_views"),
            orders=Sum("orders"),
        )
        .order_by(F("tickets").desc(nulls_last=True), "event_id")[:10]
    )
    return OrganizerStats(
        period=period,
        totals=_totals(current, currencies),
        previous=_totals(previous, currencies),
        checkin_rate=_checkin_rate(events, period),
        previous_checkin_rate=_checkin_rate(events, period.previous),
        series=series,
        top_events=[
            {
                "event_id": row["event_id"],
                "title": row["event__title"],
                "currency": row["event__currency"],
                "tickets": row["tickets"] or 0,
                "orders": row["orders"] or 0,
                "net": row["net"] or ZERO,
                "page_views": row["page_views"] or 0,
                # Sales velocity: tickets per hour of the period.
                "velocity": (row["tickets"] or 0) / period.hours,
            }
            for row in top
        ],
        as_of=stats_as_of(),
    )


@dataclass
class EventStats:
    tiers: list[dict[str, Any]]
    totals: Totals
    sales_series: list[dict[str, Any]]
    checkin_series: list[dict[str, Any]]
    ratings: list[dict[str, Any]]
    rating_count: int
    rating_mean: Decimal | None
    as_of: datetime | None

    @property
    def waitlist_funnel(self) -> list[tuple[str, int]]:
        counts = self.totals.counts
        return [
            (_("Joined"), counts["waitlist_joins"]),
            (_("Offered"), counts["waitlist_offers"]),
            (_("Accepted"), counts["waitlist_accepted"]),
        ]


def event_stats(event: Event) -> EventStats:
    """Everything the per-event dashboard charts, from the summary tables (five queries, once
    per refresh)."""
    return once_per_refresh(("event", str(event.pk)), lambda: _event_stats(event))


def _event_stats(event: Event) -> EventStats:
    rows = EventHourStats.objects.filter(event=event)
    names = {t.pk: t.name for t in event.tiers.all()}
    tiers: list[dict[str, Any]] = [
        {**row, "name": names.get(row["tier_id"], "?")}
        for row in rows.filter(tier__isnull=False).values("tier_id").annotate(**_sums())
    ]
    tiers.sort(key=lambda r: str(r["name"]))
    totals = _totals(rows, {event.pk: event.currency})
    by_hour = (
        rows.values("hour")
        .annotate(
            tickets=Sum("tickets"),
            net=Sum("net"),
            checkins=Sum("checkins"),
            views=Sum("page_views"),
        )
        .order_by("hour")
    )
    series: list[dict[str, Any]] = [dict(row) for row in by_hour]
    ratings: list[dict[str, Any]] = [
        dict(row)
        for row in EventDayRating.objects.filter(event=event)
        .order_by("day")
        .values("day", "rating_count", "rating_mean", "rating_sum")
    ]
    count = sum(r["rating_count"] for r in ratings)
    total = sum(r["rating_sum"] for r in ratings)
    return EventStats(
        tiers=tiers,
        totals=totals,
        sales_series=[r for r in series if r["tickets"] or r["net"]],
        checkin_series=[r for r in series if r["checkins"]],
        ratings=ratings,
        rating_count=count,
        rating_mean=(Decimal(total) / count).quantize(Decimal("0.01")) if count else None,
        as_of=stats_as_of(),
    )


def popular_events(period: Period, *, limit: int = 10) -> dict[str, list[dict[str, Any]]]:
    """Platform-wide (admins): events by sales velocity, by page views and by rating."""
    rows = EventHourStats.objects.filter(hour__gte=period.start, hour__lt=period.end)
    by = defaultdict(list)
    for key, order in (("velocity", "tickets"), ("views", "page_views")):
        for row in (
            rows.values("event_id", "event__title")
            .annotate(value=Sum(order))
            .filter(value__gt=0)
            .order_by("-value", "event_id")[:limit]
        ):
            value = row["value"] / period.hours if key == "velocity" else row["value"]
            by[key].append(
                {"event_id": row["event_id"], "title": row["event__title"], "value": value}
            )
    for rated in (
        EventDayRating.objects.values("event_id", "event__title")
        .annotate(count=Sum("rating_count"), total=Sum("rating_sum"))
        .filter(count__gte=3)
        .annotate(mean=F("total") * 1.0 / F("count"))
        .order_by("-mean", "-count", "event_id")[:limit]
    ):
        by["rating"].append(
            {"event_id": rated["event_id"], "title": rated["event__title"], "value": rated["mean"]}
        )
    return dict(by)


def upcoming_fill(events: QuerySet[Event], *, limit: int = 10) -> list[dict[str, Any]]:
    """Next events with how full they are (capacity and sold are counters on the tiers)."""
    upcoming = (
        events.filter(starts_at__gte=timezone.now())
        .exclude(status=Event.Status.CANCELLED)
        .order_by("starts_at", "pk")
        .values("pk", "title", "starts_at", "status")
        .annotate(
            capacity=Sum("tiers__capacity"),
            sold=Sum("tiers__sold_count"),
            tier_count=Count("tiers", filter=Q(tiers__isnull=False)),
        )[:limit]
    )
    return [
        {**row, "fill": (row["sold"] or 0) / row["capacity"] if row["capacity"] else None}
        for row in upcoming
    ]
