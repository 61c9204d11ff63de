"""Attendee and order lists of one event for its organizer: search, filters, sorting, cursors.

The event is always one the caller manages (events.selectors.event_managed_by), so every query
here is scoped by it. Search is typo-tolerant: names and emails match by trigram similarity
(pg_trgm, GIN indexes in analytics/migrations/0002); references (core.refs) match as typed, with
or without the spaces and dashes people add, through the unique (event, ref) indexes; a full id
(what the API returns) matches its row.
"""

import base64
import binascii
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.postgres.search import TrigramWordSimilarity
from django.db import connections
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    FloatField,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Greatest, Lower
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from checkin.models import Admission
from core.errors import DomainError
from core.refs import REF_ALPHABET, REF_LENGTH, looks_like_ref, ref_display, ref_normalise
from core.replica import read_alias
from events.models import AttendeeQuestion, Event
from events.questions import answers_display
from ticketing.models import SEAT_LABEL, EventSeat, Order, Ticket

# The shortest start of a reference worth matching: fewer characters match too many rows.
REF_PREFIX_MIN = 4
# People whose email matches a search are looked up first; past this many (a search for
# "gmail"), the list would cost more than the slower plan it avoids.
MATCHING_PEOPLE_MAX = 500
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
    message = _("The cursor is not one this list gave out.")


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


def _as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        return None


def reference_match(q: str, *, ref_field: str = "ref", id_field: str = "pk") -> Q | None:
    """A condition for rows whose reference (or id) is `q` as typed; None if `q` can be neither.

    A whole reference matches exactly, a start of one (4-7 characters) by prefix; both within
    one event, where the unique (event, ref) index finds them.
    """
    as_id = _as_uuid(q)
    if as_id is not None:
        return Q(**{id_field: as_id})
    ref = ref_normalise(q)
    if looks_like_ref(q):
        return Q(**{ref_field: ref})
    if REF_PREFIX_MIN <= len(ref) < REF_LENGTH and all(ch in REF_ALPHABET for ch in ref):
        # A range rather than LIKE 'ABCD%', which the (event, ref) btree serves only under the
        # C collation; every reference is 8 characters of the alphabet, so this is exact.
        rest = REF_LENGTH - len(ref)
        return Q(
            **{
                f"{ref_field}__gte": ref + REF_ALPHABET[0] * rest,
                f"{ref_field}__lte": ref + REF_ALPHABET[-1] * rest,
            }
        )
    return None


@dataclass(frozen=True)
class _Search:
    matches: Q  # over the ticket's columns and `name_lc`
    rank: Greatest  # best match first


def _search_terms(db: str, event: Event, q: str) -> _Search | None:
    typed = q.strip()[:100]
    q = typed.lower()
    if not q:
        return None
    # Every branch must be an index condition, so PostgreSQL can OR their bitmaps and read only
    # the matching tickets: names through the (event, name) trigram index, and the buyers and
    # orders that match found first, as lists of ids. A subquery there (or a condition across a
    # join) makes it read all of the event's tickets and compare each name instead.
    emails = (
        User.objects.using(db)
        .annotate(email_lc=Lower("email"))
        .filter(Q(email_lc__trigram_similar=q) | Q(email_lc__contains=q))
    )
    found = list(emails.values_list("pk", flat=True)[: MATCHING_PEOPLE_MAX + 1])
    holders = emails.values("pk") if len(found) > MATCHING_PEOPLE_MAX else found
    # Word similarity forgives typos in any one name ("quigly" finds "Anna Quigley"), the
    # substring finds a fragment; whole-string similarity added little but a third comparison
    # per candidate row.
    matches = Q(name_lc__trigram_word_similar=q) | Q(name_lc__contains=q) | Q(holder_id__in=holders)
    ticket_ref = reference_match(typed)
    if ticket_ref is not None:
        orders = Order.objects.using(db).filter(ticket_ref, event=event)
        matches |= ticket_ref | Q(order_id__in=list(orders.values_list("pk", flat=True)[:100]))
    # Best match first, from the ticket's own columns: a buyer whose email matched ranks as an
    # exact name would (no join to the users before the page is cut).
    rank = Greatest(
        TrigramWordSimilarity(Value(q), Lower("attendee_name")),  # type: ignore[arg-type]
        Case(When(holder_id__in=holders, then=Value(1.0)), default=Value(0.0)),
        output_field=FloatField(),
    )
    return _Search(matches=matches, rank=rank)


def _search(tickets: QuerySet[Ticket], event: Event, q: str) -> QuerySet[Ticket]:
    terms = _search_terms(tickets.db, event, q)
    if terms is None:
        return tickets
    return (
        tickets.annotate(name_lc=Lower("attendee_name"))
        .filter(terms.matches)
        .annotate(match=terms.rank)
    )


def _filtered(event: Event, filters: AttendeeFilters) -> QuerySet[Ticket]:
    """The event's tickets the filters (not the search) select."""
    tickets = Ticket.objects.using(read_alias()).filter(event=event)
    if filters.tier:
        tickets = tickets.filter(tier__pk=filters.tier)
    if filters.checked_in is not None:
        admitted = Exists(Admission.objects.filter(ticket=OuterRef("pk")))
        tickets = tickets.filter(admitted if filters.checked_in else ~admitted)
    if filters.status == "valid":
        tickets = tickets.filter(status=Ticket.Status.VALID)
    elif filters.status in ATTENDEE_STATUSES:
        tickets = tickets.filter(status=Ticket.Status.VOID, void_reason=filters.status)
    return tickets


def _matching(event: Event, filters: AttendeeFilters) -> QuerySet[Ticket]:
    """The event's tickets the filters and search select, without what a row shows."""
    return _search(_filtered(event, filters), event, filters.q)


def attendees_count(event: Event, filters: AttendeeFilters) -> int:
    """How many attendees the table lists (a search: SEARCH_CANDIDATES_MAX + 1 at most, as
    `attendee_id_page` takes them), counted without the joins a row needs."""
    terms = _search_terms(read_alias(), event, filters.q)
    if terms is None:
        return _filtered(event, filters).count()
    return _candidates(event, filters, terms).values("pk").count()


def _decorated(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """What an attendee row shows besides the ticket: holder, tier, order, seat, check-in.

    The holder's email and the tier's name come as columns, not as whole related rows: a page
    of 50 otherwise builds 100 more model objects (and parses their timestamps) for two
    strings."""
    return tickets.annotate(
        holder_email=F("holder__email"),
        tier_name=F("tier__name"),
        checked_in_at=_first_admission(),
        status_label=_status_label(),
        order_ref=F("order__ref"),
        seat_label=Subquery(
            EventSeat.objects.filter(pk=OuterRef("seat_id"))
            .annotate(full_label=SEAT_LABEL)
            .values("full_label")[:1]
        ),
    )


def _sorted(tickets: QuerySet[Ticket], filters: AttendeeFilters) -> QuerySet[Ticket]:
    field = ATTENDEE_SORTS.get(filters.sort.lstrip("-"))
    if field:
        if field == "checked_in_at" and "checked_in_at" not in tickets.query.annotations:
            tickets = tickets.annotate(checked_in_at=_first_admission())
        descending = filters.sort.startswith("-")
        order = F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
        return tickets.order_by(order, "issued_at", "id")
    if filters.q.strip():
        return tickets.order_by(F("match").desc(), "issued_at", "id")
    return tickets.order_by("issued_at", "id")


def attendees(event: Event, filters: AttendeeFilters) -> QuerySet[Ticket]:
    """The event's tickets as attendee rows, in the table's order (for exports and the API)."""
    return _sorted(_decorated(_matching(event, filters)), filters)


# The table ranks at most this many of a search's matches (in the order the index finds them)
# and says "more than" past it: ranking and counting each of the ~3,600 tickets that share a
# common surname in a big event was most of a search's time, for pages nobody reads that far.
SEARCH_CANDIDATES_MAX = 500


def attendee_id_page(
    event: Event, filters: AttendeeFilters, start: int, stop: int
) -> list[tuple[Any, int | None]]:
    """(id, how many match or None) of the table's rows from `start` to `stop` in its order,
    cut before anything is joined: PostgreSQL would otherwise join every match to its holder,
    order and tier, then sort.

    A search takes at most SEARCH_CANDIDATES_MAX + 1 matches (more: too broad to rank, see
    `search_capped`) and ranks them, so its total comes along; without one, counting the
    event's tickets apart is cheaper (an index-only count, and a page read in index order
    instead of the whole event)."""
    db = read_alias()
    terms = _search_terms(db, event, filters.q)
    if terms is None:
        return list(
            _sorted(_filtered(event, filters), filters)
            .annotate(total=Value(None, output_field=IntegerField()))
            .values_list("pk", "total")[start:stop]
        )
    if not ATTENDEE_SORTS.get(filters.sort.lstrip("-")):
        # Best match first, ranked over the candidates as they come out of the index scan, in
        # the order _sorted gives: the rank comes with each candidate instead of being looked
        # up again, and only the page's ids leave the database.
        found = (
            _candidates(event, filters, terms)
            .annotate(found_id=F("pk"), found_rank=terms.rank, found_at=F("issued_at"))
            .values_list("found_id", "found_rank", "found_at")
        )
        sql, params = found.query.sql_with_params()
        with connections[db].cursor() as cursor:
            cursor.execute(
                f"SELECT found_id, count(*) OVER () FROM ({sql}) AS found"  # noqa: S608 - the ORM's own SQL
                " ORDER BY found_rank DESC, found_at, found_id LIMIT %s OFFSET %s",
                [*params, stop - start, start],
            )
            return cursor.fetchall()
    # Sorted by a column: by id alone, as the match conditions again would lead the planner back
    # to the trigram index and every match.
    ranked = (
        Ticket.objects.using(db)
        .filter(pk__in=_candidates(event, filters, terms).values("pk"))
        .annotate(match=terms.rank)
    )
    return list(
        _sorted(ranked, filters)
        .annotate(total=Window(Count("*")))
        .values_list("pk", "total")[start:stop]
    )


def _candidates(event: Event, filters: AttendeeFilters, terms: _Search) -> QuerySet[Ticket]:
    """The first SEARCH_CANDIDATES_MAX + 1 tickets the search matches, in the order found."""
    return (
        _filtered(event, filters)
        .annotate(name_lc=Lower("attendee_name"))
        .filter(terms.matches)
        .order_by()  # in the order found: the scan stops at the cap
    )[: SEARCH_CANDIDATES_MAX + 1]


def search_capped(total: int) -> bool:
    """Whether a search matched more than the table ranks (its total is then a lower bound)."""
    return total > SEARCH_CANDIDATES_MAX


def attendees_by_id(ids: list[Any]) -> list[Ticket]:
    """The attendee rows of `ids` (a page from `attendee_id_page`), in that order (one query)."""
    # Only the columns a row shows: a ticket's QR payload and times are most of its width.
    tickets = Ticket.objects.using(read_alias()).filter(pk__in=ids)
    decorated = _decorated(tickets.only("ref", "attendee_name", "tier", "order", "answers"))
    rows = {t.pk: t for t in decorated}
    return [rows[pk] for pk in ids if pk in rows]


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


def attendee_row(ticket: Any, questions: Sequence[AttendeeQuestion] = ()) -> dict[str, Any]:
    """One attendee as the table and the API show it, with an answer (maybe "") per question."""
    return {
        "ticket_ref": ref_display(ticket.ref),
        "ticket_id": str(ticket.pk),
        "name": ticket.attendee_name,
        "email": ticket.holder_email,
        "tier": ticket.tier_name,
        "tier_id": str(ticket.tier_id),
        "seat": ticket.seat_label or "",
        "order_ref": ref_display(ticket.order_ref),
        "order_id": str(ticket.order_id),
        "status": ticket.status_label,
        "checked_in_at": ticket.checked_in_at,
        "answers": [
            {"question_id": str(q.pk), "question": q.label, "answer": answer}
            for q, answer in answers_display(questions, ticket.answers)
        ],
    }


EXPORT_COLUMNS = [
    ("ticket_ref", _("Ticket")),
    ("name", _("Name")),
    ("email", _("Email")),
    ("tier", _("Tier")),
    ("seat", _("Seat")),
    ("order_ref", _("Order")),
    ("status", _("Status")),
    ("checked_in_at", _("Checked in at")),
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
    typed = q.strip()[:100]
    q = typed.lower()
    if q:
        # The buyers that match first (trigram indexes on the users), as in `_search`.
        people = (
            User.objects.using(orders.db)
            .annotate(email_lc=Lower("email"), name_lc=Lower("full_name"))
            .filter(
                Q(email_lc__trigram_similar=q)
                | Q(email_lc__contains=q)
                | Q(name_lc__trigram_word_similar=q)
            )
        )
        found = list(people.values_list("pk", flat=True)[: MATCHING_PEOPLE_MAX + 1])
        matches = Q(buyer_id__in=people.values("pk") if len(found) > MATCHING_PEOPLE_MAX else found)
        by_reference = reference_match(typed)
        if by_reference is not None:
            matches |= by_reference
        orders = orders.filter(matches)
    return orders
