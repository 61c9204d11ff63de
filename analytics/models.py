"""Summary tables the organizer dashboards read instead of raw order rows.

Every figure is attributed to the hour its fact happened (a payment, a refund, a first
admission, ...), so a fact that is recorded once never moves between buckets: the incremental
refresh only has to recompute the buckets that new facts fall into.
"""

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from events.models import Event, TicketTier


class EventHourStats(models.Model):
    """One event, tier and hour. `tier` is empty for what has no tier: page views, unique
    visitors and "any tier" waitlist joins."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    tier = models.ForeignKey(
        TicketTier, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    hour = models.DateTimeField()
    # An order counts once, in the bucket of its first line's tier, so tiers add up to orders.
    orders = models.PositiveIntegerField(default=0)
    tickets = models.PositiveIntegerField(default=0)
    gross = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    refunded_tickets = models.PositiveIntegerField(default=0)
    refunds = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0"), help_text=_("Money given back")
    )
    fees = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0"), help_text=_("Refund fees kept")
    )
    net = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0"), help_text=_("gross - refunds")
    )
    transfers = models.PositiveIntegerField(default=0)
    checkins = models.PositiveIntegerField(default=0)
    waitlist_joins = models.PositiveIntegerField(default=0)
    waitlist_offers = models.PositiveIntegerField(default=0)
    waitlist_accepted = models.PositiveIntegerField(default=0)
    page_views = models.PositiveIntegerField(default=0)
    unique_visitors = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "event hour stats"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "tier", "hour"],
                nulls_distinct=False,
                name="one_stats_row_per_event_tier_hour",
            )
        ]
        indexes = [models.Index(fields=["hour", "event"], name="event_hour_stats_by_hour")]

    def __str__(self) -> str:
        return f"{self.event_id}/{self.tier_id} {self.hour:%Y-%m-%d %H}h"


class EventDayRating(models.Model):
    """Visible feedback per event and UTC day of writing."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    rating_count = models.PositiveIntegerField()
    rating_sum = models.PositiveIntegerField()
    rating_mean = models.DecimalField(max_digits=4, decimal_places=2)
    refreshed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "day"], name="one_rating_row_per_event_day")
        ]

    def __str__(self) -> str:
        return f"{self.event_id} {self.day}: {self.rating_mean} ({self.rating_count})"


class PageViewHour(models.Model):
    """Event page views flushed from Redis. Redis forgets; this is the record the summary
    rebuild reads, so a rebuild keeps them."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()
    views = models.PositiveIntegerField(default=0)
    # An estimate (HyperLogLog over salted session hashes); no visitor identity is stored.
    visitors = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "hour"], name="one_page_view_row_per_hour")
        ]
        indexes = [
            models.Index(fields=["updated_at"], name="page_view_hour_updated"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} {self.hour:%Y-%m-%d %H}h: {self.views}"


class RefreshState(models.Model):
    """The incremental refresh's watermark: facts recorded before it are in the tables."""

    name = models.CharField(max_length=30, primary_key=True)
    watermark = models.DateTimeField()
    last_run_at = models.DateTimeField()
    last_run_seconds = models.FloatField(default=0)
    buckets_refreshed = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} @ {self.watermark}"
