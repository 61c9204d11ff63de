"""Assigned seating: venue layouts, each event's own seats, holding seats and best available.

A venue's `SeatMap` is copied into an event's `EventSeat`s, zone by zone onto ticket tiers; a
tier's capacity is then its sellable (unblocked) seats, so `sold_count` and the admission gate
work for seats exactly as for general admission. A seat belongs to at most one live order
(`EventSeat.order`, one column); holding takes row locks on the seats in id order, all or none.

Layout import format (JSON): a list of seats, or {"seats": [...]}, each
    {"section": "Balcony", "row": "C", "number": "14", "x": 14, "y": 3, "zone": "A",
     "wheelchair": false, "companion": false, "restricted_view": false, "aisle": false}
CSV: a header row with the same names (booleans as 1/0, true/false or yes/no).
x is the position in the row (neighbours are one apart; leave a gap for an aisle), y the row's
distance from the stage.
"""

import csv
import io
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import CharField, F, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_record
from core.db import busy_on_lock_timeout
from core.errors import NotFound
from core.testswitches import switch_on
from events.models import Event, TicketTier, Venue
from events.signals import tiers_changed
from ticketing.booking import hotpath
from ticketing.booking.core import (
    idempotency_key_check,
    inventory_admit,
    order_existing,
    order_hold,
    orders_release_expired,
    request_digest,
)
from ticketing.booking.gate import gate_give, gate_sync, gate_took
from ticketing.errors import (
    QuantityLimit,
    SalesClosed,
    SeatLayoutInvalid,
    SeatTaken,
    SoldOut,
    UnknownSeat,
    UnknownTier,
)
from ticketing.models import EventSeat, MapSeat, Order, SeatMap
from vouchers.services import code_normalise, voucher_find

ATTRIBUTES = ("wheelchair", "companion", "restricted_view", "aisle")
MAX_SEATS_PER_MAP = 20_000
MAX_SEATS_PER_ORDER = 20
# How many of the best blocks a buyer may land on: in a rush the same best block is everyone's
# first choice, so each request tries a random one of the best few (no waiting, SKIP LOCKED).
BEST_BLOCKS_TRIED = 8
BEST_ATTEMPTS = 6


# --- Layouts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeatBlock:
    """Rows x seats generated in one go: rows labelled from `first_row`, seats numbered from 1."""

    section: str
    rows: int
    seats_per_row: int
    zone: str
    first_row: str = "A"
    aisles_after: tuple[int, ...] = ()  # an aisle after these seat numbers
    x: int = 0  # where the block starts, so blocks can sit side by side
    y: int = 0


def _row_label(first: str, index: int) -> str:
    if first.isdigit():
        return str(int(first) + index)
    # A..Z, then AA, AB, ... as theatres do.
    start = ord(first.upper()[0]) - ord("A") + index
    label = ""
    start += 1
    while start:
        start, rest = divmod(start - 1, 26)
        label = chr(ord("A") + rest) + label
    return label


def _block_seats(block: SeatBlock) -> list[dict[str, Any]]:
    if not (1 <= block.rows <= 200 and 1 <= block.seats_per_row <= 200):
        raise SeatLayoutInvalid(_("A block has 1 to 200 rows of 1 to 200 seats."))
    seats = []
    for r in range(block.rows):
        x = block.x
        for n in range(1, block.seats_per_row + 1):
            seats.append(
                {
                    "section": block.section,
                    "row": _row_label(block.first_row, r),
                    "number": str(n),
                    "x": x,
                    "y": block.y + r,
                    "zone": block.zone,
                    "aisle": n in block.aisles_after
                    or (n - 1) in block.aisles_after
                    or n in (1, block.seats_per_row),
                }
            )
            x += 2 if n in block.aisles_after else 1
    return seats


def _ranked(seats: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Best first: rows nearest the stage, then seats nearest the middle."""
    if not seats:
        return seats
    xs = [s["x"] for s in seats]
    ys = [s["y"] for s in seats]
    middle, front = (min(xs) + max(xs)) / 2, min(ys)
    for seat in seats:
        seat["rank"] = (seat["y"] - front) * 1000 + round(abs(seat["x"] - middle) * 10)
        if seat.get("restricted_view"):
            seat["rank"] += 500_000
    return seats


def _clean(raw: dict[str, Any], index: int) -> dict[str, Any]:
    def text(name: str, limit: int) -> str:
        value = str(raw.get(name, "")).strip()
        if not value or len(value) > limit:
            raise SeatLayoutInvalid(
                _("Seat %(seat)s: %(field)s must be 1 to %(limit)s characters.")
                % {"seat": index + 1, "field": name, "limit": limit}
            )
        return value

    def number(name: str) -> int:
        try:
            value = int(raw.get(name))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise SeatLayoutInvalid(
                _("Seat %(seat)s: %(field)s must be a whole number.")
                % {"seat": index + 1, "field": name}
            ) from None
        if not 0 <= value <= 10_000:
            raise SeatLayoutInvalid(
                _("Seat %(seat)s: %(field)s must be between 0 and 10000.")
                % {"seat": index + 1, "field": name}
            )
        return value

    def flag(name: str) -> bool:
        value = raw.get(name, False)
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "y")
        return bool(value)

    return {
        "section": text("section", 50),
        "row": text("row", 10),
        "number": text("number", 10),
        "x": number("x"),
        "y": number("y"),
        "zone": text("zone", 30),
        **{name: flag(name) for name in ATTRIBUTES},
    }


def _validated(seats: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not seats:
        raise SeatLayoutInvalid(_("A layout needs at least one seat."))
    if len(seats) > MAX_SEATS_PER_MAP:
        raise SeatLayoutInvalid(
            _("A layout has at most %(count)s seats.") % {"count": MAX_SEATS_PER_MAP}
        )
    labels = Counter((s["section"], s["row"], s["number"]) for s in seats)
    spots = Counter((s["x"], s["y"]) for s in seats)
    twice = [f"{s} {r}-{n}" for (s, r, n), c in labels.items() if c > 1]
    if twice:
        raise SeatLayoutInvalid(
            _("Seat labels used twice: %(seats)s.") % {"seats": ", ".join(twice[:5])}
        )
    crowded = [f"x={x} y={y}" for (x, y), c in spots.items() if c > 1]
    if crowded:
        raise SeatLayoutInvalid(
            _("Two seats at one spot: %(spots)s.") % {"spots": ", ".join(crowded[:5])}
        )
    return _ranked(seats)


def layout_parse(*, data: str, fmt: str) -> list[dict[str, Any]]:
    """Seats from an import file (format in this module's docstring), validated."""
    if fmt == "json":
        try:
            parsed = json.loads(data)
        except ValueError as exc:
            raise SeatLayoutInvalid(_("Not valid JSON: %(error)s") % {"error": exc}) from exc
        rows = parsed.get("seats") if isinstance(parsed, dict) else parsed
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise SeatLayoutInvalid(_('Expected a list of seats, or {"seats": [...]}.'))
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(data)))
    else:
        raise SeatLayoutInvalid(_("The format is json or csv."))
    return _validated([_clean(row, i) for i, row in enumerate(rows)])


def layout_export(*, seat_map: SeatMap) -> str:
    """The layout as JSON in the import format."""
    fields = ["section", "row", "number", "x", "y", "zone", *ATTRIBUTES]
    return json.dumps({"seats": list(seat_map.seats.values(*fields))}, indent=1)


@transaction.atomic(durable=True)
def seat_map_create(
    *,
    user: User,
    venue: Venue,
    name: str,
    blocks: Sequence[SeatBlock] = (),
    seats: list[dict[str, Any]] | None = None,
) -> SeatMap:
    """A venue layout from generated blocks and/or imported seats."""
    rows = [seat for block in blocks for seat in _block_seats(block)] + list(seats or [])
    rows = _validated(rows)
    try:
        with transaction.atomic():
            seat_map = SeatMap.objects.create(venue=venue, name=name.strip()[:100])
    except IntegrityError:
        raise SeatLayoutInvalid(
            _("%(venue)s already has a layout called %(name)s.")
            % {"venue": venue.name, "name": name}
        ) from None
    MapSeat.objects.bulk_create([MapSeat(seat_map=seat_map, **seat) for seat in rows])
    audit_record(
        actor=user,
        action="seat_map.create",
        target=seat_map,
        organization=venue.organization,
        changes={"seats": len(rows)},
    )
    return seat_map


@transaction.atomic(durable=True)
def seat_map_add_blocks(*, user: User, seat_map: SeatMap, blocks: Sequence[SeatBlock]) -> int:
    """Generate more blocks into an existing layout; returns how many seats were added.

    The whole layout is validated again (a block may not reuse a label or a spot) and re-ranked,
    since the middle of the house moves when a block is added at one side.
    """
    if not switch_on("seat_layout_unlocked"):  # race tests' control
        SeatMap.objects.select_for_update().get(pk=seat_map.pk)  # one editor at a time per layout
    fields = ["id", "section", "row", "number", "x", "y", "zone", "rank", *ATTRIBUTES]
    existing = list(MapSeat.objects.filter(seat_map=seat_map).values(*fields))
    new = [seat for block in blocks for seat in _block_seats(block)]
    if not new:
        return 0
    _validated([*existing, *new])  # ranks the dicts in place
    MapSeat.objects.bulk_create(MapSeat(seat_map=seat_map, **seat) for seat in new)
    ranks = [MapSeat(pk=seat["id"], rank=seat["rank"]) for seat in existing]
    MapSeat.objects.bulk_update(ranks, ["rank"], batch_size=2000)
    audit_record(
        actor=user,
        action="seat_map.add_blocks",
        target=seat_map,
        organization=seat_map.venue.organization,
        changes={
            "seats": len(new),
            "blocks": [f"{b.section} {b.rows}x{b.seats_per_row} zone {b.zone}" for b in blocks],
        },
    )
    return len(new)


@transaction.atomic(durable=True)
def seat_map_delete(*, user: User, seat_map: SeatMap) -> None:
    """Delete a layout. Events that applied it keep their own copy of the seats."""
    audit_record(
        actor=user,
        action="seat_map.delete",
        target=seat_map,
        organization=seat_map.venue.organization,
        changes={"name": seat_map.name},
    )
    seat_map.delete()


@transaction.atomic(durable=True)
def seat_map_edit(
    *,
    user: User,
    seat_map: SeatMap,
    seat_ids: Iterable[int],
    remove: bool = False,
    zone: str | None = None,
    attributes: dict[str, bool] | None = None,
    relabel: dict[int, tuple[str, str, str]] | None = None,
) -> int:
    """Remove, rezone, mark or relabel seats of a layout; returns how many seats it touched."""
    # The layout row first, as seat_map_add_blocks does: the seat rows alone would let a block
    # added meanwhile take a label this edit is handing out.
    SeatMap.objects.select_for_update().get(pk=seat_map.pk)
    seats = list(MapSeat.objects.select_for_update().filter(seat_map=seat_map).order_by("pk"))
    chosen = set(seat_ids) & {seat.pk for seat in seats}
    keep = [seat for seat in seats if not (remove and seat.pk in chosen)]
    for seat in keep:
        if seat.pk not in chosen:
            continue
        if zone and zone.strip():
            seat.zone = zone.strip()[:30]
        for name, value in (attributes or {}).items():
            if name in ATTRIBUTES:
                setattr(seat, name, value)
        if relabel and seat.pk in relabel:
            seat.section, seat.row, seat.number = (part.strip() for part in relabel[seat.pk])
    fields = ["section", "row", "number", "x", "y", "zone", *ATTRIBUTES]
    cleaned = _validated(
        [_clean({f: getattr(s, f) for f in fields}, i) for i, s in enumerate(keep)]
    )
    for row, seat in zip(cleaned, keep, strict=True):
        seat.section, seat.row, seat.number, seat.rank = (
            row["section"],
            row["row"],
            row["number"],
            row["rank"],
        )
    MapSeat.objects.filter(pk__in=chosen - {seat.pk for seat in keep}).delete()
    # Labels may swap between seats, and the unique index checks row by row: park them first.
    parked = MapSeat.objects.filter(pk__in=[seat.pk for seat in keep])
    parked.update(number=Concat(Value("~"), Cast("id", CharField())))
    MapSeat.objects.bulk_update(keep, ["section", "row", "number", "zone", "rank", *ATTRIBUTES])
    audit_record(
        actor=user,
        action="seat_map.edit",
        target=seat_map,
        organization=seat_map.venue.organization,
        changes={"seats": len(chosen), "remove": remove, "zone": zone, "attributes": attributes},
    )
    return len(chosen)


@transaction.atomic(durable=True)
def event_seating_apply(
    *, user: User, event: Event, seat_map: SeatMap, zone_tiers: dict[str, Any]
) -> int:
    """Give the event its own copy of a layout, zone by zone onto tiers; returns seat count.

    Each seated tier's capacity becomes its seat count. Only before any order exists.
    """
    event = Event.objects.select_for_update().get(pk=event.pk)
    if seat_map.venue_id != event.venue_id:
        raise SeatLayoutInvalid(_("That layout belongs to another venue."))
    if Order.objects.filter(event=event).exists():
        raise SeatLayoutInvalid(_("This event has orders already; its seats cannot be replaced."))
    tiers = {str(t.pk): t for t in TicketTier.objects.select_for_update().filter(event=event)}
    zones = set(seat_map.seats.values_list("zone", flat=True))
    missing = sorted(zones - set(zone_tiers))
    if missing:
        raise SeatLayoutInvalid(
            _("Choose a tier for zone %(zones)s.") % {"zones": ", ".join(missing)}
        )
    chosen = {zone: tiers.get(str(tier_id)) for zone, tier_id in zone_tiers.items()}
    if any(t is None for z, t in chosen.items() if z in zones):
        raise UnknownTier()
    # A tier seated by the copy being replaced, but by none of the new seats, would otherwise
    # keep selling its old seat count as unseated tickets.
    seated_before = {
        str(t)
        for t in EventSeat.objects.filter(event=event).values_list("tier_id", flat=True).distinct()
    }
    EventSeat.objects.filter(event=event).delete()
    fields = ["section", "row", "number", "x", "y", "zone", "rank", *ATTRIBUTES]
    seats = [
        EventSeat(event=event, tier=chosen[row["zone"]], **row)
        for row in seat_map.seats.values(*fields)
    ]
    EventSeat.objects.bulk_create(seats, batch_size=2000)
    counts = Counter(str(seat.tier.pk) for seat in seats)
    for tier_id, tier in tiers.items():
        if tier_id in counts or tier_id in seated_before:
            tier.capacity = counts.get(tier_id, 0)
            tier.save(update_fields=["capacity"])
    audit_record(
        actor=user,
        action="event.seating_apply",
        target=event,
        organization=event.organization,
        changes={"seat_map": str(seat_map.pk), "seats": len(seats)},
    )
    event_id = event.pk
    transaction.on_commit(lambda: tiers_changed.send(sender=Event, event_id=event_id))
    return len(seats)


@transaction.atomic(durable=True)
def event_seats_block(
    *, user: User, event: Event, seat_ids: Iterable[Any], blocked: bool, reason: str = ""
) -> int:
    """Block free seats (technical, house seats) or release blocked ones; returns how many.

    A blocked seat is not for sale, so its tier's capacity shrinks by one while it is blocked.
    """
    with busy_on_lock_timeout():
        try:
            seats = list(
                EventSeat.objects.select_for_update()
                .filter(event=event, pk__in=list(seat_ids), order=None, blocked=not blocked)
                .exclude(block_reason=EventSeat.WAITLIST_BLOCK)  # the waitlist's, not ours
                .order_by("pk")
            )
        except ValidationError as exc:
            raise UnknownSeat() from exc
        per_tier = Counter(seat.tier_id for seat in seats)
        for tier_id in sorted(per_tier):
            change = per_tier[tier_id] if not blocked else -per_tier[tier_id]
            TicketTier.objects.filter(pk=tier_id).update(capacity=F("capacity") + change)
        EventSeat.objects.filter(pk__in=[s.pk for s in seats]).update(
            blocked=blocked, block_reason=reason[:100] if blocked else ""
        )
    audit_record(
        actor=user,
        action="event.seats_block" if blocked else "event.seats_unblock",
        target=event,
        organization=event.organization,
        changes={"seats": [s.label for s in seats], "reason": reason},
    )
    event_id = event.pk
    transaction.on_commit(lambda: tiers_changed.send(sender=Event, event_id=event_id))
    return len(seats)


# --- Reading seat states ---------------------------------------------------------------------

_STATES = """
SELECT s.id, CASE
    WHEN s.blocked THEN 'b'
    WHEN o.status = 'paid' THEN 's'
    WHEN o.status = 'pending' AND o.expires_at > %(now)s THEN 'h'
    ELSE 'a' END
FROM ticketing_eventseat s LEFT JOIN ticketing_order o ON o.id = s.order_id
WHERE s.event_id = %(event)s
ORDER BY s.y, s.x, s.id
"""


def event_seat_states(*, event_id: Any) -> str:
    """One letter per seat in the event's seat order (y, x): a(vailable), h(eld), s(old),
    b(locked). A hold that lapsed is available: released on read."""
    with connection.cursor() as cursor:
        cursor.execute(_STATES, {"event": str(event_id), "now": timezone.now()})
        return "".join(state for _, state in cursor.fetchall())


# --- Holding seats ---------------------------------------------------------------------------


def order_reserve_seats(
    *,
    buyer: User,
    event_id: Any,
    idempotency_key: str,
    seat_ids: Sequence[Any] = (),
    best_available: tuple[Any, int] | None = None,
    voucher: str = "",
) -> Order:
    """Hold chosen seats, or the best `quantity` adjacent seats of a tier, all or none.

    SEAT_TAKEN names the seats someone else got first (so a page can keep the rest).
    `voucher` is a code: it prices the seats and its use is counted in the holding transaction.
    """
    idempotency_key_check(idempotency_key)
    voucher = code_normalise(voucher)
    if best_available is not None:
        tier_id, quantity = best_available
        return _reserve_best(buyer, event_id, str(tier_id), quantity, idempotency_key, voucher)
    wanted = _normalise_seats(seat_ids)
    request: dict[str, Any] = {"event": str(event_id), "seats": wanted}
    if voucher:  # without one, the digest stays what it always was (replays still match)
        request["voucher"] = voucher
    digest = request_digest(request)
    if _hot_path_on(voucher):
        placed = hotpath.seats_place(
            buyer=buyer,
            event_id=event_id,
            seat_ids=wanted,
            quantity=len(wanted),
            idempotency_key=idempotency_key,
            digest=digest,
            now=timezone.now(),
        )
        if placed is not None:
            order, tier_id = placed
            transaction.on_commit(lambda: gate_took(order.event_id, {tier_id: len(wanted)}))
            return order
    existing = order_existing(buyer, idempotency_key, digest)
    if existing is not None:
        return existing
    for attempt in (1, 2):
        try:
            return _hold(buyer, event_id, wanted, idempotency_key, digest, voucher)
        except _LapsedHolds:
            # Seats whose hold ran out but was not released yet: release, then try again.
            if attempt == 2 or not orders_release_expired(event_id=event_id):
                raise SeatTaken() from None
        except IntegrityError:
            existing = order_existing(buyer, idempotency_key, digest)
            if existing is None:
                raise
            return existing
    raise AssertionError("unreachable")


def _hot_path_on(voucher: str) -> bool:
    # Not with a voucher, which the hot path does not price. (The test-only `seats_unlocked`
    # switch drops the hot path's seat locks too, so its negative control covers both paths.)
    return bool(settings.BOXOFFICE_HOT_PATH) and not voucher


class _LapsedHolds(Exception):
    pass


def _normalise_seats(seat_ids: Sequence[Any]) -> list[str]:
    try:
        wanted = sorted({str(uuid.UUID(str(seat_id))) for seat_id in seat_ids})
    except ValueError as exc:
        raise UnknownSeat() from exc
    if not wanted:
        raise QuantityLimit(_("Choose at least one seat."))
    if len(wanted) > MAX_SEATS_PER_ORDER:
        raise QuantityLimit(
            _("At most %(count)s seats per order.") % {"count": MAX_SEATS_PER_ORDER}
        )
    return wanted


@transaction.atomic(durable=True)
def _hold(
    buyer: User, event_id: Any, wanted: list[str], idempotency_key: str, digest: str, voucher: str
) -> Order:
    return _hold_in_transaction(buyer, event_id, wanted, idempotency_key, digest, voucher)


def _hold_in_transaction(
    buyer: User,
    event_id: Any,
    wanted: list[str],
    idempotency_key: str,
    digest: str,
    voucher_code: str,
) -> Order:
    now = timezone.now()
    try:
        event = Event.objects.exclude(status=Event.Status.DRAFT).get(pk=event_id)
    except (Event.DoesNotExist, ValidationError) as exc:
        raise NotFound(_("No such event.")) from exc
    if event.status != Event.Status.PUBLISHED or event.ends_at <= now:
        raise SalesClosed()
    voucher = voucher_find(event_id=event.pk, code=voucher_code, now=now) if voucher_code else None
    with busy_on_lock_timeout():
        # Not select_related("order"): under a lock wait PostgreSQL re-reads the locked seat
        # but not the joined row, so an order committed meanwhile would look like no order.
        chosen = EventSeat.objects.select_related("tier").filter(event=event, pk__in=wanted)
        unsafe = switch_on("seats_unlocked")
        if not unsafe:  # one lock order for everybody: no deadlocks
            chosen = chosen.select_for_update(of=("self",))
        seats = list(chosen.order_by("pk"))
        if len(seats) != len(wanted):
            raise UnknownSeat()
        _check_seats_free(seats, now)
        if unsafe:  # test-only negative control: check, pause, then write without a lock
            time.sleep(0.05)
        per_tier = dict(Counter(str(seat.tier_id) for seat in seats))
        order = order_hold(
            buyer=buyer,
            event=event,
            tiers={str(seat.tier_id): seat.tier for seat in seats},
            wanted=per_tier,
            idempotency_key=idempotency_key,
            digest=digest,
            now=now,
            seat_ids=[seat.pk for seat in seats],
            voucher=voucher,
        )
    transaction.on_commit(lambda: gate_took(event.pk, per_tier))
    return order


def _check_seats_free(seats: list[EventSeat], now: Any) -> None:
    """SeatTaken unless every seat is free; the caller holds the seats' row locks."""
    holders = Order.objects.in_bulk({seat.order_id for seat in seats if seat.order_id})
    taken, lapsed = [], False
    for seat in seats:
        holder = holders.get(seat.order_id) if seat.order_id else None
        if seat.blocked:
            taken.append(seat)
        elif holder is not None and holder.status in Order.LIVE_STATUSES:
            if holder.status == Order.Status.PENDING and holder.expires_at <= now:
                lapsed = True
            else:
                taken.append(seat)
        elif holder is not None:  # a released order still pointing at it: free
            continue
    if taken:
        labels = ", ".join(seat.label for seat in taken)
        raise SeatTaken(
            _("Someone just took %(seats)s.") % {"seats": labels},
            taken=[{"id": str(seat.pk), "label": seat.label} for seat in taken],
        )
    if lapsed:
        raise _LapsedHolds()


_BEST_BLOCKS = """
WITH free AS (
    SELECT s.id, s.section, s.row, s.x, s.rank,
           s.x - row_number() OVER (PARTITION BY s.section, s.row, s.y ORDER BY s.x) AS run
    FROM ticketing_eventseat s
    WHERE s.tier_id = %(tier)s AND s.order_id IS NULL AND NOT s.blocked
),
windows AS (
    SELECT count(*) OVER w AS n, sum(rank) OVER w AS score, array_agg(id) OVER w AS ids
    FROM free
    WINDOW w AS (PARTITION BY section, row, run ORDER BY x
                 ROWS BETWEEN CURRENT ROW AND %(more)s FOLLOWING)
)
SELECT ids FROM windows WHERE n = %(n)s ORDER BY score LIMIT %(limit)s
"""
# Seats someone is holding a lock on right now are skipped, not waited for: in a rush the best
# seat is everyone's first choice, and waiting for it would only end in "taken".
_BEST_SINGLES = """
SELECT id FROM ticketing_eventseat
WHERE tier_id = %(tier)s AND order_id IS NULL AND NOT blocked
ORDER BY rank LIMIT %(n)s FOR UPDATE SKIP LOCKED
"""
_LOCK_FREE = """
SELECT id FROM ticketing_eventseat
WHERE id = ANY(%(ids)s::uuid[]) AND order_id IS NULL AND NOT blocked
ORDER BY id FOR UPDATE SKIP LOCKED
"""


def seats_best_blocks(*, tier_id: Any, quantity: int, limit: int) -> list[list[uuid.UUID]]:
    """The best `limit` blocks of `quantity` adjacent free seats of a tier: one row, no aisle
    (a gap in x) inside, lowest total rank first."""
    with connection.cursor() as cursor:
        cursor.execute(
            _BEST_BLOCKS, {"tier": tier_id, "n": quantity, "more": quantity - 1, "limit": limit}
        )
        return [ids for (ids,) in cursor.fetchall()]


def _reserve_best(
    buyer: User, event_id: Any, tier_id: str, quantity: int, idempotency_key: str, voucher: str
) -> Order:
    if not isinstance(quantity, int) or not 1 <= quantity <= MAX_SEATS_PER_ORDER:
        raise QuantityLimit(_("Choose 1 to %(count)s seats.") % {"count": MAX_SEATS_PER_ORDER})
    try:
        tier_key = str(uuid.UUID(tier_id))
    except ValueError as exc:
        raise UnknownTier() from exc
    request: dict[str, Any] = {"event": str(event_id), "best": tier_key, "quantity": quantity}
    if voucher:
        request["voucher"] = voucher
    digest = request_digest(request)
    wanted = {tier_key: quantity}
    taken, replayed = inventory_admit(buyer, event_id, wanted, idempotency_key, digest)
    if replayed is not None:
        return replayed
    try:
        # One seat is the best single seat, as `_hold_best` picks it; blocks are its to choose.
        if quantity == 1 and _hot_path_on(voucher):
            placed = hotpath.seats_place(
                buyer=buyer,
                event_id=event_id,
                best_of_tier=tier_key,
                quantity=quantity,
                idempotency_key=idempotency_key,
                digest=digest,
                now=timezone.now(),
            )
            if placed is not None:
                return placed[0]  # the gate keeps what it took
        existing = order_existing(buyer, idempotency_key, digest)
        if existing is not None:
            gate_give(event_id, taken)
            return existing
        if not TicketTier.objects.filter(pk=tier_key, event_id=event_id).exists():
            raise UnknownTier()
        for attempt in range(BEST_ATTEMPTS):
            order = _hold_best(
                buyer, event_id, tier_key, quantity, idempotency_key, digest, voucher
            )
            if order is not None:
                gate_give(event_id, taken)  # _hold noted its own take on commit
                return order
            if not orders_release_expired(event_id=event_id) and attempt < BEST_ATTEMPTS - 1:
                # The blocks went (or were being taken) while we chose: a moment, then again.
                time.sleep(random.uniform(0.005, 0.02) * (attempt + 1))  # noqa: S311 - jitter
    except IntegrityError:
        gate_give(event_id, taken)
        existing = order_existing(buyer, idempotency_key, digest)
        if existing is None:
            raise
        return existing
    except BaseException:
        gate_give(event_id, taken)
        raise
    gate_give(event_id, taken)
    gate_sync(event_ids=[event_id])
    raise SoldOut(
        _("Not enough seats left for %(count)s together.") % {"count": quantity}, tier_id=tier_key
    )


@transaction.atomic(durable=True)
def _hold_best(
    buyer: User, event_id: Any, tier_id: str, quantity: int, key: str, digest: str, voucher: str
) -> Order | None:
    """Hold the best free block, or with none left together the best single seats; None when
    the seats went meanwhile."""
    with connection.cursor() as cursor:
        blocks = (
            seats_best_blocks(tier_id=tier_id, quantity=quantity, limit=BEST_BLOCKS_TRIED)
            if quantity > 1
            else []
        )
        for ids in blocks:
            with transaction.atomic():  # a savepoint: a failed try gives its row locks back
                cursor.execute(_LOCK_FREE, {"ids": [str(i) for i in ids]})
                if len(cursor.fetchall()) == quantity:
                    seat_ids = sorted(map(str, ids))
                    return _hold_in_transaction(buyer, event_id, seat_ids, key, digest, voucher)
                transaction.set_rollback(True)
        if blocks:
            return None
        cursor.execute(_BEST_SINGLES, {"tier": tier_id, "n": quantity})
        ids = [row[0] for row in cursor.fetchall()]
        if len(ids) < quantity:
            return None
        return _hold_in_transaction(buyer, event_id, sorted(map(str, ids)), key, digest, voucher)
