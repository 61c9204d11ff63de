"""Attendee and order lists of one event for its organizer: search, filters, sorting, cursors.

The event is always one the caller manages (events.selectors.event_managed_by), so every query
here is scoped by it. Search is typo-tolerant: names and emails match by trigram similarity
(pg_trgm, GIN indexes in analytics/migrations/0002), references by prefix.
"""

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.postgres.search import TrigramSimilarity, TrigramWordSimilarity
from django.db.models import (
    Case,
    CharField,
    Exists,
    F,
    FloatField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Greatest, Lower

from accounts.models import User
from checkin.models import Admission
from core.errors import DomainError
from core.replica import read_alias
from events.models import Event
from ticketing.models import SEAT_LABEL, EventSeat, Order, Ticket

# A reference is the start of an id (Order.code is its first 8 hex digits).
REFERENCE = re.compile(r"^[0-9a-fA-F-]{4,36}$")
ATTENDEE_SORTS = {
    "name": "attendee_name",
    "email": "holder__email",
    "tier": "tier__name",
    "status": "status",
    "checked_in": "checked_in_at",
    "issued": "issued_at",
}
ATTENDEE_STATUSES = ("valid", "refunded", "transferred", "cancelled")


class InvalidCursor(DomainError):
    code = "INVALID_CURSOR"
    status = 400
    message = "The cursor is not one this list gave out."


@dataclass(frozen=True)
class AttendeeFilters:
    q: str = ""
    tier: str = ""
    checked_in: bool | None = None
    status: str = ""
    sort: str = ""


def _first_admission() -> Subquery:
    return Subquery(
        Admission.objects.filter(ticket=OuterRef("pk"))
        .values("ticket")
        .annotate(first=Min("admitted_at"))
        .values("first")[:1]
    )


def _status_label() -> Case:
    return Case(
        When(status=Ticket.Status.VALID, then=Value("valid")),
        When(void_reason="", then=Value("void")),
        default=F("void_reason"),
        output_field=CharField(),
    )


def _search(tickets: QuerySet[Ticket], q: str) -> QuerySet[Ticket]:
    q = q.strip().lower()[:100]
    if not q:
        return tickets
    tickets = tickets.annotate(
        name_lc=Lower("attendee_name"),
        match=Greatest(
            TrigramWordSimilarity(Value(q), Lower("attendee_name")),  # type: ignore[arg-type]
            TrigramSimilarity(Lower("holder__email"), Value(q)),  # type: ignore[arg-type]
            output_field=FloatField(),
        ),
    )
    # Each branch can use its own trigram index; an email match is found among the users first
    # (a condition across the join would make PostgreSQL read every ticket of the event).
    emails = User.objects.annotate(email_lc=Lower("email")).filter(
        Q(email_lc__trigram_similar=q) | Q(email_lc__contains=q)
    )
    matches = (
        Q(name_lc__trigram_word_similar=q)
        | Q(name_lc__trigram_similar=q)
        | Q(name_lc__contains=q)
        | Q(holder_id__in=emails.values("pk"))
    )
    if REFERENCE.match(q):
        ref = q.replace("-", "")
        matches |= Q(order__id__istartswith=ref) | Q(id__istartswith=ref)
    return tickets.filter(matches)


def attendees(event: Event, filters: AttendeeFilters) -> QuerySet[Ticket]:
    """The event's tickets as attendee rows (one query for a page of them)."""
    tickets: QuerySet[Ticket] = (
        Ticket.objects.using(read_alias())
        .filter(event=event)
        .select_related("holder", "tier")
        .annotate(
            checked_in_at=_first_admission(),
            status_label=_status_label(),
            seat_label=Subquery(
                EventSeat.objects.filter(pk=OuterRef("seat_id"))
                .annotate(full_label=SEAT_LABEL)
                .values("full_label")[:1]
            ),
        )
    )
    if filters.tier:
        tickets = tickets.filter(tier__pk=filters.tier)
    if filters.checked_in is not None:
        admitted = Exists(Admission.objects.filter(ticket=OuterRef("pk")))
        tickets = tickets.filter(admitted if filters.checked_in else ~admitted)
    if filters.status == "valid":
        tickets = tickets.filter(status=Ticket.Status.VALID)
    elif filters.status in ATTENDEE_STATUSES:
        tickets = tickets.filter(status=Ticket.Status.VOID, void_reason=filters.status)
    tickets = _search(tickets, filters.q)
    field = ATTENDEE_SORTS.get(filters.sort.lstrip("-"))
    if field:
        descending = filters.sort.startswith("-")
        order = F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
        return tickets.order_by(order, "issued_at", "id")
    if filters.q.strip():
        return tickets.order_by(F("match").desc(), "issued_at", "id")
    return tickets.order_by("issued_at", "id")


def encode_cursor(ticket: Ticket) -> str:
    raw = f"{ticket.issued_at.isoformat()}|{ticket.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def after_cursor(tickets: QuerySet[Ticket], cursor: str) -> QuerySet[Ticket]:
    """The rows after `cursor` in (issued_at, id) order: stable while new tickets arrive."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, ticket_id = raw.split("|", 1)
        issued_at = datetime.fromisoformat(stamp)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursor() from exc
    return tickets.filter(
        Q(issued_at__gt=issued_at) | Q(issued_at=issued_at, id__gt=ticket_id)
    ).order_by("issued_at", "id")


def reference(pk: Any) -> str:
    """The short reference people read out: an id's first 8 hex digits (as Order.code)."""
    return str(pk)[:8].upper()


def attendee_row(ticket: Any) -> dict[str, Any]:
    """One attendee as the table, the export and the API show it."""
    return {
        "ticket_ref": reference(ticket.pk),
        "ticket_id": str(ticket.pk),
        "name": ticket.attendee_name,
        "email": ticket.holder.email,
        "tier": ticket.tier.name,
        "tier_id": str(ticket.tier_id),
        "seat": ticket.seat_label or "",
        "order_ref": reference(ticket.order_id),
        "order_id": str(ticket.order_id),
        "status": ticket.status_label,
        "checked_in_at": ticket.checked_in_at,
    }


EXPORT_COLUMNS = [
    ("ticket_ref", "Ticket"),
    ("name", "Name"),
    ("email", "Email"),
    ("tier", "Tier"),
    ("seat", "Seat"),
    ("order_ref", "Order"),
    ("status", "Status"),
    ("checked_in_at", "Checked in at"),
]


ORDER_STATUSES = [s.value for s in Order.Status]


def orders_of_event(event: Event, *, q: str = "", status: str = "") -> QuerySet[Order]:
    """The event's orders, newest first, searchable by buyer name, email or order reference."""
    orders = (
        Order.objects.using(read_alias())
        .filter(event=event)
        .select_related("buyer")
        .prefetch_related("lines__tier")
        .order_by("-created_at", "id")
    )
    if status in ORDER_STATUSES:
        orders = orders.filter(status=status)
    q = q.strip().lower()[:100]
    if q:
        matches = (
            Q(email_lc__trigram_similar=q)
            | Q(email_lc__contains=q)
            | Q(name_lc__trigram_word_similar=q)
        )
        if REFERENCE.match(q):
            matches |= Q(id__istartswith=q.replace("-", ""))
        orders = orders.annotate(
            email_lc=Lower("buyer__email"), name_lc=Lower("buyer__full_name")
        ).filter(matches)
    return orders
