import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    OuterRef,
    Q,
    Subquery,
    UUIDField,
    Value,
)
from django.db.models.functions import Coalesce

from accounts.models import User
from events.models import Event, TicketTier
from waitlist.models import Offer, WaitlistEntry

# Stands for "any tier" so that line membership can be compared with `=` (NULL = NULL is not).
_ANY_TIER = Value(uuid.UUID(int=0), output_field=UUIDField())


@dataclass(frozen=True)
class Place:
    entry: WaitlistEntry
    position: int  # 1 is next in line


def waiting_places(user: User, event: Event) -> list[Place]:
    """The lines `user` is in for `event`, with their position in each (one query)."""
    line = Coalesce("tier_id", _ANY_TIER)
    ahead = (
        WaitlistEntry.objects.filter(event=OuterRef("event"), status=WaitlistEntry.Status.WAITING)
        .annotate(line=line)
        .filter(line=OuterRef("line"))
        .filter(
            Q(created_at__lt=OuterRef("created_at"))
            | Q(created_at=OuterRef("created_at"), id__lte=OuterRef("id"))
        )
        .values("event")
        .annotate(n=Count("id"))
        .values("n")
    )
    entries = (
        WaitlistEntry.objects.filter(user=user, event=event, status=WaitlistEntry.Status.WAITING)
        .select_related("tier")
        .annotate(line=line, position=Subquery(ahead))
    )
    return [Place(entry=e, position=e.position) for e in entries]


@dataclass(frozen=True)
class LineFigures:
    tier: TicketTier | None  # None: "any ticket"
    waiting: int
    offers_open: int
    accepted: int
    lapsed: int  # expired or declined

    @property
    def conversion(self) -> float | None:
        """Share of settled offers that became a booking (None before any settled)."""
        settled = self.accepted + self.lapsed
        return self.accepted / settled if settled else None


def waitlist_figures(event: Event) -> list[LineFigures]:
    """Per line of an event: people waiting, offers outstanding and their conversion (2 queries)."""
    waiting: dict[Any, int] = dict(
        WaitlistEntry.objects.filter(event=event, status=WaitlistEntry.Status.WAITING)
        .values_list("tier_id")
        .annotate(n=Count("id"))
        .values_list("tier_id", "n")
    )
    offers: dict[Any, dict[str, int]] = {}
    for tier_id, any_line, status, n in (
        Offer.objects.filter(event=event)
        .annotate(any_line=ExpressionWrapper(Q(entry__tier__isnull=True), BooleanField()))
        .values_list("tier_id", "any_line", "status")
        .annotate(n=Count("id"))
        .values_list("tier_id", "any_line", "status", "n")
    ):
        line = offers.setdefault(None if any_line else tier_id, {})
        line[status] = line.get(status, 0) + n
    lines = []
    for tier in [*event.tiers.all(), None]:
        key = tier.pk if tier is not None else None
        counts = offers.get(key, {})
        lines.append(
            LineFigures(
                tier=tier,
                waiting=waiting.get(key, 0),
                offers_open=counts.get(Offer.Status.OPEN, 0),
                accepted=counts.get(Offer.Status.ACCEPTED, 0),
                lapsed=counts.get(Offer.Status.EXPIRED, 0) + counts.get(Offer.Status.DECLINED, 0),
            )
        )
    return lines


def open_offers_of(user: User, event: Event) -> list[Offer]:
    return list(
        Offer.objects.filter(user=user, event=event, status=Offer.Status.OPEN).select_related(
            "tier"
        )
    )
