import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Sum
from django.utils import timezone

from checkin.models import Admission
from events.models import Event, TicketTier
from ticketing.models import Order, OrderLine, SetAside, Ticket
from ticketing.selectors import ATTENDING, tier_revenue_net

# The live counters may lag this much (seconds): many tabs polling one event cost one count, and
# a sale still shows within the dashboard's 2-second promise (polled every second).
LIVE_MAX_AGE = 0.5


@dataclass(frozen=True)
class TierFigures:
    name: str
    capacity: int
    sold: int
    held: int
    revenue: Decimal
    admitted: int

    @property
    def available(self) -> int:
        return max(self.capacity - self.sold - self.held, 0)


@dataclass(frozen=True)
class EventFigures:
    currency: str
    tiers: list[TierFigures]

    @property
    def capacity(self) -> int:
        return sum(t.capacity for t in self.tiers)

    @property
    def sold(self) -> int:
        return sum(t.sold for t in self.tiers)

    @property
    def held(self) -> int:
        return sum(t.held for t in self.tiers)

    @property
    def revenue(self) -> Decimal:
        return sum((t.revenue for t in self.tiers), Decimal("0"))

    @property
    def admitted(self) -> int:
        return sum(t.admitted for t in self.tiers)


def event_figures(event: Event) -> EventFigures:
    """Sold, held, revenue net of refunds and admissions of valid tickets per tier, live from
    the database (five queries)."""
    tiers = list(event.tiers.all())
    revenue = tier_revenue_net(event.pk)  # net of refunds
    sold = dict(
        Ticket.objects.filter(event=event, status=Ticket.Status.VALID)
        .values("tier_id")
        .annotate(n=Count("id"))
        .values_list("tier_id", "n")
    )
    admitted = dict(
        Admission.objects.filter(ATTENDING, checkin_list__event=event)
        .values("ticket__tier_id")
        .annotate(n=Count("ticket_id", distinct=True))
        .values_list("ticket__tier_id", "n")
    )
    return EventFigures(
        currency=event.currency,
        tiers=[
            TierFigures(
                name=tier.name,
                capacity=tier.capacity,
                sold=sold.get(tier.pk, 0),
                held=max(tier.sold_count - sold.get(tier.pk, 0), 0),
                revenue=revenue.get(tier.pk) or Decimal("0"),
                admitted=admitted.get(tier.pk, 0),
            )
            for tier in tiers
        ],
    )


def event_live(event: Event, *, cached: bool = True) -> dict[str, Any]:
    """The live counters of an event as JSON-ready numbers (six small queries, shared for
    LIVE_MAX_AGE seconds)."""

    def build() -> dict[str, Any]:
        # From the tiers' counters, not by counting tickets: a tier's sold_count is its valid
        # tickets + seats held by pending orders + seats set aside for the waitlist.
        tiers = list(TicketTier.objects.filter(event=event))
        held = dict(
            OrderLine.objects.filter(order__event=event, order__status=Order.Status.PENDING)
            .values("tier_id")
            .annotate(n=Sum("quantity"))
            .values_list("tier_id", "n")
        )
        aside = dict(SetAside.objects.filter(event=event).values_list("tier_id", "quantity"))
        admitted = dict(
            Admission.objects.filter(ATTENDING, checkin_list__event=event)
            .values("ticket__tier_id")
            .annotate(n=Count("ticket_id", distinct=True))
            .values_list("ticket__tier_id", "n")
        )
        by_list = (
            Admission.objects.filter(ATTENDING, checkin_list__event=event)
            .values("checkin_list_id", "checkin_list__name")
            .annotate(n=Count("ticket_id", distinct=True))
            .order_by("checkin_list__name")
        )
        rows = []
        for tier in tiers:
            tier_held = (held.get(tier.pk) or 0) + (aside.get(tier.pk) or 0)
            rows.append(
                {
                    "name": tier.name,
                    "sold": max(tier.sold_count - tier_held, 0),
                    "held": tier_held,
                    "available": max(tier.capacity - tier.sold_count, 0),
                    "checked_in": admitted.get(tier.pk, 0),
                }
            )
        return {
            "sold": sum(r["sold"] for r in rows),
            "held": sum(r["held"] for r in rows),
            "available": sum(r["available"] for r in rows),
            "capacity": sum(t.capacity for t in tiers),
            "checked_in": sum(r["checked_in"] for r in rows),
            "tiers": rows,
            "lists": [
                {
                    "id": str(row["checkin_list_id"]),
                    "name": row["checkin_list__name"],
                    "checked_in": row["n"],
                }
                for row in by_list
            ],
            "at": timezone.now().isoformat(timespec="seconds"),
        }

    if not cached:
        return build()
    key = f"analytics:live:{event.pk}"
    now = time.time()  # wall clock: shared by every worker and host
    stored = cache.get(key)
    if stored is not None and 0 <= now - stored[0] < LIVE_MAX_AGE:
        return dict(stored[1])
    data = build()
    cache.set(key, (now, data), 2)
    return data
