from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count

from checkin.models import Admission
from events.models import Event
from ticketing.models import Ticket
from ticketing.selectors import ATTENDING, tier_revenue_net


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
    """Sold, held, revenue and admissions per tier, live from the database (four queries)."""
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
