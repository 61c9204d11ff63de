import hashlib
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django.core.cache import cache
from django.db.models import F, Q, QuerySet, Sum
from django.http import Http404
from django.utils.translation import gettext_lazy

from accounts.models import User
from core.db import row_or_raise
from events.selectors import published_event
from ticketing.booking.core import SEAT_LABEL_FIELDS, ticket_plan
from ticketing.models import (
    EventSeat,
    Order,
    OrderLine,
    Payment,
    Refund,
    RefundLine,
    Ticket,
)
from ticketing.seating.services import ATTRIBUTES as SEAT_FLAGS
from ticketing.seating.services import event_seat_states
from vouchers.models import VoucherRedemption


def order_of_buyer(user: User, order_id: Any) -> Order:
    return row_or_raise(
        Order.objects.select_related("event", "event__venue", "buyer").prefetch_related(
            "lines__tier", "tickets__tier", "tickets__seat", "seats"
        ),
        Http404("No such order"),
        pk=order_id,
        buyer=user,
    )


@dataclass(frozen=True)
class CheckoutTicket:
    """One ticket the held order will issue, as checkout asks about it."""

    what: str  # tier (and seat)
    name: str  # the attendee's name given so far
    tier_id: Any
    answers: dict[str, str]  # given so far, by question id


def checkout_tickets(order: Order) -> list[CheckoutTicket]:
    """The tickets the order will issue, in the order they are issued."""
    tier_names = {line.tier_id: line.tier.name for line in order.lines.all()}
    lines = sorted((line.tier_id, line.quantity) for line in order.lines.all())
    seats = [
        (s.pk, s.tier_id, s.label) for s in order.seats.order_by("pk").only(*SEAT_LABEL_FIELDS)
    ]
    names, answers = order.attendee_names, order.attendee_answers
    plan = ticket_plan(lines, seats)
    return [
        CheckoutTicket(
            what=f"{tier_names.get(tier_id, '')}{f' · {label}' if label else ''}",
            name=names[i] if i < len(names) else (order.buyer.display_name if i == 0 else ""),
            tier_id=tier_id,
            answers=answers[i] if i < len(answers) else {},
        )
        for i, (tier_id, _seat, label) in enumerate(plan)
    ]


def order_redemption(order: Order) -> VoucherRedemption | None:
    """The voucher code the order uses, if any."""
    return (
        VoucherRedemption.objects.filter(order=order, released_at=None)
        .select_related("voucher")
        .first()
    )


def tickets_of(user: User) -> QuerySet[Ticket]:
    """A holder's tickets, soonest event first."""
    return (
        Ticket.objects.filter(holder=user)
        .select_related("event", "event__venue", "tier", "order", "seat")
        .order_by("event__starts_at", "issued_at", "id")
    )


# --- Assigned seating ------------------------------------------------------------------------

SEAT_STATES_TTL_S = 1  # live seat maps poll every ~1.5 s: never staler than this
SEAT_PLAN_TTL_S = 30  # the layout only changes before sales start


@dataclass(frozen=True)
class SeatStates:
    version: str
    states: str


@dataclass(frozen=True)
class SeatPlan:
    tiers: list[dict[str, Any]]
    rows: list[list[Any]]  # [id, label, x, y, tier index, flags], in (y, x) order


def _seat_flags(seat: dict[str, Any]) -> str:
    return "".join(
        letter
        for letter, name in (
            ("w", "wheelchair"),
            ("c", "companion"),
            ("r", "restricted_view"),
            ("a", "aisle"),
        )
        if seat[name]
    )


def seat_plan(event_id: Any) -> SeatPlan:
    """The seat map of a published event (404 otherwise), cached briefly."""
    key = f"seat-plan:{event_id}"
    cached = cache.get(key)
    if cached is not None:
        return cast(SeatPlan, cached)
    event = published_event(event_id)
    tiers = list(event.tiers.filter(seats__isnull=False).distinct().order_by("price", "name"))
    index = {tier.pk: i for i, tier in enumerate(tiers)}
    fields = ["id", "section", "row", "number", "x", "y", "tier_id", *SEAT_FLAGS]
    rows = [
        [
            str(seat["id"]),
            f"{seat['section']} {seat['row']}-{seat['number']}",
            seat["x"],
            seat["y"],
            index[seat["tier_id"]],
            _seat_flags(seat),
        ]
        for seat in EventSeat.objects.filter(event=event).order_by("y", "x", "id").values(*fields)
    ]
    plan = SeatPlan(
        tiers=[
            {"id": str(t.pk), "name": t.name, "price": str(t.price), "currency": event.currency}
            for t in tiers
        ],
        rows=rows,
    )
    cache.set(key, plan, SEAT_PLAN_TTL_S)
    return plan


def seat_states_cached(event_id: Any) -> SeatStates:
    """Seat states of a published event (404 otherwise), at most a second old."""
    key = f"seat-states:{event_id}"
    cached = cache.get(key)
    if cached is not None:
        return cast(SeatStates, cached)
    seat_plan(event_id)  # the 404 for unknown and unpublished events
    states = event_seat_states(event_id=event_id)
    result = SeatStates(version=hashlib.sha256(states.encode()).hexdigest()[:16], states=states)
    cache.set(key, result, SEAT_STATES_TTL_S)
    return result


def seat_labels_of(tickets: list[Ticket]) -> list[str | None]:
    """Each ticket's seat label (None for general admission), in one query at most."""
    seat_ids = [t.seat_id for t in tickets if t.seat_id]
    if not seat_ids:
        return [None] * len(tickets)
    labels = {seat.pk: seat.label for seat in EventSeat.objects.filter(pk__in=seat_ids)}
    return [labels.get(t.seat_id) if t.seat_id else None for t in tickets]


SEAT_PITCH = 30  # SVG units per grid step; at 1:1 (and down to 0.8) a seat is a 24 px target
ZONE_CLASSES = 5  # .z0 ... .z4 in static/css/app.css, from the --seat-zone-* tokens
# What a buyer's seat map says of each seat (static/js/seatmap.js says the same when it changes).
STATE_WORDS = {
    "a": gettext_lazy("available"),
    "h": gettext_lazy("held"),
    "s": gettext_lazy("sold"),
    "b": gettext_lazy("not for sale"),
}
FLAG_NAMES = {
    "w": gettext_lazy("wheelchair space"),
    "c": gettext_lazy("companion seat"),
    "r": gettext_lazy("restricted view"),
    "a": gettext_lazy("aisle"),
}


def seat_map_context(plan: SeatPlan, states: str, selected: set[str]) -> dict[str, Any]:
    """What the seat map template draws: seats with positions, states and words for them.

    The picture's box (`view_*`) starts at the first seat, leaves room for row labels on the
    left and the stage on top, and the stage is centred on the seats, not on the page.
    """
    seats = []
    for index, (seat_id, label, x, y, tier_index, flags) in enumerate(plan.rows):
        state = states[index] if index < len(states) else "a"
        tier = plan.tiers[tier_index]
        section_row = label.rsplit("-", 1)[0]
        seats.append(
            {
                "index": index,
                "id": seat_id,
                "label": label,
                "section_row": section_row,
                "section": section_row.rsplit(" ", 1)[0],
                "row": section_row.rsplit(" ", 1)[-1],
                "x": x,
                "y": y,
                "cx": x * SEAT_PITCH,
                "cy": y * SEAT_PITCH,
                "state": state,
                "state_name": STATE_WORDS[state],
                "tier": tier,
                "tier_index": tier_index,
                "zone_class": f"z{tier_index % ZONE_CLASSES}",
                "wheelchair": "w" in flags,
                "features": ", ".join(str(FLAG_NAMES[f]) for f in flags if f != "a"),
                "selected": seat_id in selected and state == "a",
            }
        )
    rows: dict[str, list[dict[str, Any]]] = {}
    for seat in sorted(seats, key=lambda s: (s["section_row"], s["cx"])):
        rows.setdefault(seat["section_row"], []).append(seat)
    if not seats:
        return {"seats": [], "rows": {}, "sections": [], "row_labels": [], "tier_legend": []}
    half = SEAT_PITCH // 2
    left, right = min(s["cx"] for s in seats), max(s["cx"] for s in seats)
    top, bottom = min(s["cy"] for s in seats), max(s["cy"] for s in seats)
    stage_height = SEAT_PITCH
    view_x = left - half - 2 * SEAT_PITCH  # row labels
    view_y = top - half - stage_height - 2 * SEAT_PITCH  # the stage, then the section names
    view_width = (right + half + 2 * SEAT_PITCH) - view_x  # symmetric, so the stage is centred
    view_height = bottom + half + half - view_y
    sections: dict[str, dict[str, int]] = {}
    for seat in seats:
        box = sections.setdefault(
            seat["section"], {"left": seat["cx"], "right": seat["cx"], "top": seat["cy"]}
        )
        box["left"] = min(box["left"], seat["cx"])
        box["right"] = max(box["right"], seat["cx"])
        box["top"] = min(box["top"], seat["cy"])
    # Roving tabindex: the map is one tab stop, on the first chosen seat or else the first free one.
    entry = next((s for s in seats if s["selected"]), None) or next(
        (s for s in seats if s["state"] == "a"), seats[0]
    )
    return {
        "seats": seats,
        "rows": rows,
        "entry_index": entry["index"],
        "tier_legend": [
            {"tier": tier, "zone_class": f"z{index % ZONE_CLASSES}"}
            for index, tier in enumerate(plan.tiers)
        ],
        "view_x": view_x,
        "view_y": view_y,
        "view_width": view_width,
        "view_height": view_height,
        "pitch": SEAT_PITCH,
        "half": half,
        "stage": {
            "x": (left + right) / 2 - min(view_width * 0.3, 8 * SEAT_PITCH),
            "y": view_y + half,
            "width": 2 * min(view_width * 0.3, 8 * SEAT_PITCH),
            "height": stage_height,
            "cx": (left + right) / 2,
            "cy": view_y + half + stage_height / 2,
        },
        "row_labels": [
            {"text": row[0]["row"], "x": row[0]["cx"] - SEAT_PITCH, "y": row[0]["cy"]}
            for row in rows.values()
        ],
        "sections": [
            {"name": name, "x": (box["left"] + box["right"]) / 2, "y": box["top"] - half - 4}
            for name, box in sections.items()
        ],
    }


# --- Figures -----------------------------------------------------------------------------------
# Revenue is net: what succeeded payments brought in, less every refund recorded (a pending
# refund's tickets are already void and its money is owed back). A payment that was refunded
# whole because its order could not be fulfilled (status "refunded") never counts.

# Admissions that count as attendance: the admitted ticket is still valid. A ticket refunded
# after entry (only if the organizer allows it) or voided before that rule existed does not
# count, so one paid seat is one attendee however many tickets its history holds. Filter any
# queryset of admission rows (checkin.Admission) with it.
ATTENDING = Q(ticket__status=Ticket.Status.VALID)


def event_revenue_net(event_id: Any) -> Decimal:
    """Payments less refunds of one event, in its currency."""
    paid = Payment.objects.filter(
        order__event_id=event_id, status=Payment.Status.SUCCEEDED
    ).aggregate(total=Sum("amount"))["total"] or Decimal("0")
    refunded = Refund.objects.filter(order__event_id=event_id).aggregate(total=Sum("amount"))[
        "total"
    ] or Decimal("0")
    return paid - refunded


def tier_revenue_net(event_id: Any) -> dict[Any, Decimal]:
    """Per tier id: paid orders' lines less the refunds of its tickets (sums to the event's)."""
    revenue: dict[Any, Decimal] = defaultdict(Decimal)
    for tier_id, total in (
        OrderLine.objects.filter(order__event_id=event_id, order__status=Order.Status.PAID)
        .values("tier_id")
        .annotate(total=Sum(F("unit_price") * F("quantity")))
        .values_list("tier_id", "total")
    ):
        revenue[tier_id] += total
    for tier_id, total in (
        RefundLine.objects.filter(refund__order__event_id=event_id)
        .values("ticket__tier_id")
        .annotate(total=Sum("amount"))
        .values_list("ticket__tier_id", "total")
    ):
        revenue[tier_id] -= total
    return dict(revenue)
