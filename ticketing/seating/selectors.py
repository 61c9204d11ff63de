"""Reads for the organizer's seating pages, scoped to the user's organizations."""

import re
from typing import Any

from django.db.models import Case, CharField, Count, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.selectors import organizations_managed_by
from core.db import row_or_raise
from events.models import Event, Venue
from ticketing.models import SEAT_LABEL, SEAT_STATES, EventSeat, MapSeat, Order, SeatMap

ATTRIBUTE_FILTERS = {
    "wheelchair": _("Wheelchair space"),
    "companion": _("Companion seat"),
    "restricted_view": _("Restricted view"),
    "aisle": _("Aisle"),
    "plain": _("No attribute"),
}


def seat_map_managed_by(user: User, seat_map_id: Any) -> SeatMap:
    """One layout of a venue `user` manages; any other id is a 404."""
    return row_or_raise(
        SeatMap.objects.select_related("venue", "venue__organization"),
        Http404("No such seat map"),
        pk=seat_map_id,
        venue__organization__in=organizations_managed_by(user),
    )


def seat_maps_of_venue(venue: Venue) -> QuerySet[SeatMap]:
    """A venue's layouts, each with its seat count."""
    return SeatMap.objects.filter(venue=venue).annotate(seat_count=Count("seats")).order_by("name")


def map_seats_filtered(
    seat_map: SeatMap,
    *,
    q: str = "",
    section: str = "",
    zone: str = "",
    attribute: str = "",
) -> QuerySet[MapSeat]:
    """A layout's seats in (y, x) order, narrowed by label search, section, zone, attribute."""
    seats = MapSeat.objects.filter(seat_map=seat_map)
    if q.strip():
        seats = seats.annotate(full_label=SEAT_LABEL).filter(full_label__icontains=q.strip())
    if section:
        seats = seats.filter(section=section)
    if zone:
        seats = seats.filter(zone=zone)
    if attribute == "plain":
        seats = seats.filter(wheelchair=False, companion=False, restricted_view=False, aisle=False)
    elif attribute in ATTRIBUTE_FILTERS:
        seats = seats.filter(**{attribute: True})
    return seats.order_by("y", "x", "pk")


def map_facets(seat_map: SeatMap) -> dict[str, list[tuple[str, int]]]:
    """The sections and zones of a layout with their seat counts (for filters and legends)."""
    rows = list(
        MapSeat.objects.filter(seat_map=seat_map)
        .values("section", "zone")
        .annotate(n=Count("pk"))
        .order_by("section", "zone")
    )
    sections: dict[str, int] = {}
    zones: dict[str, int] = {}
    for row in rows:
        sections[row["section"]] = sections.get(row["section"], 0) + row["n"]
        zones[row["zone"]] = zones.get(row["zone"], 0) + row["n"]
    return {"sections": sorted(sections.items()), "zones": sorted(zones.items())}


def _state() -> Case:
    """The seat's state letter, as `event_seat_states` computes it."""
    now = timezone.now()
    return Case(
        When(blocked=True, then=Value("b")),
        When(order__status=Order.Status.PAID, then=Value("s")),
        When(order__status=Order.Status.PENDING, order__expires_at__gt=now, then=Value("h")),
        default=Value("a"),
        output_field=CharField(),
    )


def event_seats_with_state(event: Event) -> QuerySet[EventSeat]:
    """An event's seats in (y, x) order, each with `state` (a/h/s/b) and its tier."""
    return (
        EventSeat.objects.filter(event=event)
        .select_related("tier")
        .annotate(state=_state())
        .order_by("y", "x", "pk")
    )


def event_seats_filtered(
    event: Event, *, q: str = "", section: str = "", state: str = ""
) -> QuerySet[EventSeat]:
    seats = event_seats_with_state(event)
    if q.strip():
        seats = seats.annotate(full_label=SEAT_LABEL).filter(full_label__icontains=q.strip())
    if section:
        seats = seats.filter(section=section)
    if state in SEAT_STATES:
        seats = seats.filter(**{"state": state})  # an annotation the type checker cannot see
    return seats


def event_seat_sections(event: Event) -> list[str]:
    return list(
        EventSeat.objects.filter(event=event)
        .values_list("section", flat=True)
        .distinct()
        .order_by("section")
    )


def event_tier_seat_counts(event: Event) -> list[dict[str, Any]]:
    """Per tier of the event: capacity, sold_count and its seats by state (seated tiers only)."""
    now = timezone.now()
    live_hold = Q(seats__order__status=Order.Status.PENDING, seats__order__expires_at__gt=now)
    tiers = (
        event.tiers.annotate(
            seats_total=Count("seats"),
            seats_blocked=Count("seats", filter=Q(seats__blocked=True)),
            seats_sold=Count("seats", filter=Q(seats__order__status=Order.Status.PAID)),
            seats_held=Count("seats", filter=live_hold),
        )
        .filter(seats_total__gt=0)
        .order_by("price", "name")
    )
    return [
        {
            "tier": tier,
            "total": tier.seats_total,
            "blocked": tier.seats_blocked,
            "sold": tier.seats_sold,
            "held": tier.seats_held,
            "available": tier.seats_total - tier.seats_blocked - tier.seats_sold - tier.seats_held,
        }
        for tier in tiers
    ]


_LABEL_RE = re.compile(r"^(?P<section>.+)\s+(?P<row>[^\s-]+)-(?P<number>[^\s-]+)$")


def event_seats_by_labels(event: Event, labels: list[str]) -> tuple[list[Any], list[str]]:
    """Seat ids for labels like "Balcony C-14", and the labels that name no seat."""
    wanted: dict[tuple[str, str, str], str] = {}
    unknown = []
    for label in labels:
        match = _LABEL_RE.match(label.strip())
        if match is None:
            unknown.append(label)
            continue
        key = (match["section"].strip().lower(), match["row"].lower(), match["number"].lower())
        wanted[key] = label
    if not wanted:
        return [], unknown
    condition = Q()
    for section, row, number in wanted:
        condition |= Q(section__iexact=section, row__iexact=row, number__iexact=number)
    found = list(
        EventSeat.objects.filter(condition, event=event).values_list(
            "pk", "section", "row", "number"
        )
    )
    seen = {(s.lower(), r.lower(), n.lower()) for _, s, r, n in found}
    unknown += [label for key, label in wanted.items() if key not in seen]
    return [pk for pk, *_ in found], unknown
