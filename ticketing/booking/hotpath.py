"""The rush case of reserving and paying, one SQL statement per step.

`ticketing.booking.services` is the reference: it checks every rule, names every error and handles
every race. In a rush nearly every request is the plain case (one tier on sale, tickets left,
a fresh key, a pending order); for it the ORM path costs eight to ten round trips and most of a
request's CPU. Here that case is one statement each, which either does exactly what the
reference path would have done or does nothing at all and returns None, after which the caller
runs the reference path, which decides. So a rule broken, a race lost or a key replayed never
gets an answer from this module, only a `None`.

Placing an order and starting a payment are single statements: in autocommit each is its own
transaction, taking its row locks once and releasing them at its end; inside a transaction
(tests) each runs in a savepoint, so a failure cannot poison the outer one. Finishing a payment
runs in the caller's transaction, so the confirmation's listeners write in it too.

Keep the INSERTs here in step with the models: a new NOT NULL column without a database
default makes a statement fail, which only shows as the slow path and a logged warning
(tests/api/test_hot_path.py counts the statements exactly, so it catches that).
"""

import contextlib
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg.errors
from django.db import DatabaseError, connection

from accounts.models import User
from core.db import LOCK_TIMEOUT, prepared_cursor, single_statement_atomic
from core.testswitches import switch_on
from ticketing.models import Order

logger = logging.getLogger(__name__)


def _fell_back(step: str, exc: DatabaseError) -> None:
    # A replayed key is routine; anything else (a schema the statement does not know) would
    # silently send every request down the slow path, so it is logged loudly.
    unique = isinstance(exc.__cause__, psycopg.errors.UniqueViolation)
    logger.log(logging.DEBUG if unique else logging.WARNING, "%s fell back: %s", step, exc)


@contextlib.contextmanager
def _one_statement() -> Iterator[Any]:
    with single_statement_atomic(), prepared_cursor() as cursor:
        yield cursor


# The lock_timeout is set by an init plan that the UPDATE's join needs before it can lock a row,
# so it applies to that lock wait; `true` makes it local to this statement's transaction.
_PLACE = """
WITH wait AS (SELECT set_config('lock_timeout', %(lock_timeout)s, true) AS lock_timeout),
tier AS (
    SELECT t.id, t.price, e.id AS event_id, e.currency, e.hold_minutes
    FROM events_tickettier t JOIN events_event e ON e.id = t.event_id
    WHERE t.id = %(tier)s AND e.id = %(event)s AND e.status = 'published' AND e.ends_at > %(now)s
      AND e.max_per_buyer IS NULL AND %(quantity)s <= t.max_per_order AND NOT t.requires_voucher
      AND (t.sales_start IS NULL OR t.sales_start <= %(now)s)
      AND (t.sales_end IS NULL OR %(now)s < t.sales_end)
),
claimed AS (
    UPDATE events_tickettier t SET sold_count = t.sold_count + %(quantity)s
    FROM tier, wait
    WHERE t.id = tier.id AND wait.lock_timeout IS NOT NULL
      AND t.sold_count <= t.capacity - %(quantity)s
    RETURNING t.id
),
placed AS (
    INSERT INTO ticketing_order (id, buyer_id, event_id, status, total, currency, expires_at,
                                 idempotency_key, request_digest, created_at, seat_ids)
    SELECT %(order)s, %(buyer)s, tier.event_id, 'pending', tier.price * %(quantity)s,
           tier.currency, %(now)s + make_interval(mins => tier.hold_minutes),
           %(key)s, %(digest)s, %(now)s, '{}'
    FROM tier JOIN claimed ON claimed.id = tier.id
    RETURNING id, event_id, total, currency, expires_at, ref
),
line AS (
    INSERT INTO ticketing_orderline (order_id, tier_id, quantity, unit_price)
    SELECT placed.id, tier.id, %(quantity)s, tier.price FROM placed, tier
)
SELECT event_id, total, currency, expires_at, ref FROM placed
"""


def order_place(
    *,
    buyer: User,
    event_id: Any,
    tier_id: str,
    quantity: int,
    idempotency_key: str,
    digest: str,
    now: datetime,
) -> Order | None:
    """A new held order of one tier, or None: the reference path must decide."""
    order_id = uuid.uuid4()
    try:
        with _one_statement() as cursor:
            cursor.execute(
                _PLACE,
                {
                    "lock_timeout": LOCK_TIMEOUT,
                    "tier": tier_id,
                    "event": str(event_id),
                    "quantity": quantity,
                    "order": order_id,
                    "buyer": buyer.pk,
                    "key": idempotency_key,
                    "digest": digest,
                    "now": now,
                },
            )
            row = cursor.fetchone()
    except DatabaseError as exc:  # a replayed key, a lock wait that timed out: the reference path
        _fell_back("order_place", exc)
        return None
    if row is None:
        return None
    return _placed_order(order_id, buyer, idempotency_key, digest, now, *row)


def _placed_order(
    order_id: Any,
    buyer: User,
    idempotency_key: str,
    digest: str,
    now: datetime,
    event_id: Any,
    total: Decimal,
    currency: str,
    expires_at: datetime,
    ref: str,
) -> Order:
    """The pending order a placing statement wrote, built from what it returned (no re-read)."""
    return Order(
        id=order_id,
        buyer=buyer,
        event_id=event_id,
        status=Order.Status.PENDING,
        total=total,
        currency=currency,
        expires_at=expires_at,
        idempotency_key=idempotency_key,
        request_digest=digest,
        created_at=now,
        ref=ref,
    )


# Seats: the seats are locked first (SKIP LOCKED: a seat someone else is holding a lock on is
# the reference path's to wait for), every one of them must be free and never held (`order_id
# IS NULL`: a seat pointing at a released order is the reference path's too), all of one tier,
# which then gives the tickets as `_PLACE` does. Seats before the tier row, as the reference
# path locks them; with one tier there is no partial claim to undo.
_PLACE_SEATS = """
WITH wait AS (SELECT set_config('lock_timeout', %(lock_timeout)s, true) AS lock_timeout),
seats AS (
    {seats}
),
event AS (
    SELECT e.id, e.currency, e.hold_minutes FROM events_event e
    WHERE e.id = %(event)s AND e.status = 'published' AND e.ends_at > %(now)s
      AND e.max_per_buyer IS NULL
),
tier AS (
    SELECT t.id, t.price, (SELECT count(*) FROM seats) AS quantity,
           (SELECT array_agg(seats.id ORDER BY seats.id) FROM seats) AS seat_ids
    FROM events_tickettier t, event
    WHERE t.id = (SELECT min(seats.tier_id::text)::uuid FROM seats) AND t.event_id = event.id
      AND (SELECT count(DISTINCT seats.tier_id) FROM seats) = 1
      AND (SELECT count(*) FROM seats) = %(quantity)s
      AND %(quantity)s <= t.max_per_order AND NOT t.requires_voucher
      AND (t.sales_start IS NULL OR t.sales_start <= %(now)s)
      AND (t.sales_end IS NULL OR %(now)s < t.sales_end)
),
claimed AS (
    UPDATE events_tickettier t SET sold_count = t.sold_count + tier.quantity
    FROM tier, wait
    WHERE t.id = tier.id AND wait.lock_timeout IS NOT NULL
      AND t.sold_count <= t.capacity - tier.quantity
    RETURNING t.id
),
placed AS (
    INSERT INTO ticketing_order (id, buyer_id, event_id, status, total, currency, expires_at,
                                 idempotency_key, request_digest, created_at, seat_ids)
    SELECT %(order)s, %(buyer)s, event.id, 'pending', tier.price * tier.quantity,
           event.currency, %(now)s + make_interval(mins => event.hold_minutes),
           %(key)s, %(digest)s, %(now)s, tier.seat_ids
    FROM event, tier JOIN claimed ON claimed.id = tier.id
    RETURNING id, event_id, total, currency, expires_at, ref, seat_ids
),
line AS (
    INSERT INTO ticketing_orderline (order_id, tier_id, quantity, unit_price)
    SELECT placed.id, tier.id, tier.quantity, tier.price FROM placed, tier
),
taken AS (
    UPDATE ticketing_eventseat s SET order_id = placed.id FROM placed, seats
    WHERE s.id = seats.id
)
SELECT event_id, total, currency, expires_at, ref, seat_ids, (SELECT id FROM tier) FROM placed
"""
# Chosen seats; the ids are a parameter.
_CHOSEN_SEATS = """SELECT s.id, s.tier_id FROM ticketing_eventseat s
    WHERE s.id = ANY(%(seats)s::uuid[]) AND s.event_id = %(event)s AND s.order_id IS NULL
      AND NOT s.blocked
    ORDER BY s.id FOR UPDATE SKIP LOCKED"""
# The best single seats of a tier, exactly as the reference path's `_BEST_SINGLES` picks them.
_BEST_SEATS = """SELECT s.id, s.tier_id FROM ticketing_eventseat s
    WHERE s.tier_id = %(tier)s AND s.order_id IS NULL AND NOT s.blocked
    ORDER BY s.rank LIMIT %(quantity)s FOR UPDATE SKIP LOCKED"""
_PLACE_CHOSEN = _PLACE_SEATS.format(seats=_CHOSEN_SEATS)
_PLACE_BEST = _PLACE_SEATS.format(seats=_BEST_SEATS)
# The test-only negative control (`seats_unlocked`): the same statements without the seat locks.
_UNLOCKED = {
    sql: sql.replace(" FOR UPDATE SKIP LOCKED", "") for sql in (_PLACE_CHOSEN, _PLACE_BEST)
}


def seats_place(
    *,
    buyer: User,
    event_id: Any,
    seat_ids: list[str] | None = None,
    best_of_tier: str | None = None,
    quantity: int,
    idempotency_key: str,
    digest: str,
    now: datetime,
) -> tuple[Order, str] | None:
    """A new order holding free seats of one tier (the chosen ones, or the best `quantity`
    single seats of `best_of_tier`) and the tier's id, or None: the reference path must decide."""
    order_id = uuid.uuid4()
    params = {
        "lock_timeout": LOCK_TIMEOUT,
        "event": str(event_id),
        "quantity": quantity,
        "order": order_id,
        "buyer": buyer.pk,
        "key": idempotency_key,
        "digest": digest,
        "now": now,
    }
    if seat_ids is not None:
        sql, params["seats"] = _PLACE_CHOSEN, seat_ids
    else:
        sql, params["tier"] = _PLACE_BEST, best_of_tier
    if switch_on("seats_unlocked"):
        sql = _UNLOCKED[sql]
    try:
        with _one_statement() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
    except DatabaseError as exc:
        _fell_back("seats_place", exc)
        return None
    if row is None:
        return None
    *placed, placed_seats, tier_id = row
    order = _placed_order(order_id, buyer, idempotency_key, digest, now, *placed)
    order.seat_ids = list(placed_seats)
    return order, str(tier_id)


# A payment may start on a pending order whose hold still runs. Another payment of the order in
# flight, or this key used before, breaks a unique constraint: the reference path sorts it out.
_START = """
WITH held AS (
    SELECT id, event_id, total, currency, attendee_names, attendee_answers FROM ticketing_order o
    WHERE id = %(order)s AND buyer_id = %(buyer)s AND status = 'pending' AND expires_at > %(now)s
      AND NOT (%(unanswered)s AND EXISTS (
          SELECT 1 FROM events_attendeequestion q WHERE q.event_id = o.event_id AND q.required))
    FOR UPDATE
),
started AS (
    INSERT INTO ticketing_payment (id, order_id, buyer_id, provider, provider_charge_id,
                                   provider_refund_id, amount, currency, status, idempotency_key,
                                   request_digest, failure_code, created_at, updated_at)
    SELECT %(payment)s, held.id, %(buyer)s, %(provider)s, '', '', held.total, held.currency,
           'pending', %(key)s, %(digest)s, '', %(now)s, %(now)s
    FROM held
    RETURNING amount, currency
)
SELECT held.event_id, started.amount, started.currency,
       (SELECT e.organization_id FROM events_event e WHERE e.id = held.event_id),
       (SELECT array_agg(l.tier_id ORDER BY l.tier_id) FROM ticketing_orderline l
        WHERE l.order_id = held.id),
       (SELECT array_agg(l.quantity ORDER BY l.tier_id) FROM ticketing_orderline l
        WHERE l.order_id = held.id),
       (SELECT array_agg(s.id ORDER BY s.id) FROM ticketing_eventseat s
        WHERE s.order_id = held.id),
       (SELECT array_agg(s.tier_id ORDER BY s.id) FROM ticketing_eventseat s
        WHERE s.order_id = held.id),
       (SELECT array_agg(s.section || ' ' || s.row || '-' || s.number ORDER BY s.id)
        FROM ticketing_eventseat s WHERE s.order_id = held.id),
       held.attendee_names, held.attendee_answers
FROM held, started
"""


class StartedPayment:
    """A pending payment of a held order, with what the tickets will need."""

    __slots__ = (
        "amount",
        "attendee_answers",
        "attendee_names",
        "currency",
        "event_id",
        "lines",
        "order_id",
        "organization_id",
        "pk",
        "provider",
        "seats",
    )

    def __init__(
        self,
        *,
        pk: uuid.UUID,
        order_id: Any,
        provider: str,
        event_id: uuid.UUID,
        organization_id: uuid.UUID,
        amount: Decimal,
        currency: str,
        lines: list[tuple[uuid.UUID, int]],
        seats: list[tuple[uuid.UUID, uuid.UUID, str]],
        attendee_names: list[str] | None = None,
        attendee_answers: list[dict[str, str]] | None = None,
    ) -> None:
        self.pk = pk
        self.order_id = order_id
        self.provider = provider
        self.event_id = event_id
        self.organization_id = organization_id
        self.amount = amount
        self.currency = currency
        self.lines = lines
        self.seats = seats  # (seat, tier, label) for assigned seating
        self.attendee_names = attendee_names or []  # Order.attendee_names
        self.attendee_answers = attendee_answers or []  # Order.attendee_answers

    @property
    def provider_key(self) -> str:
        return f"bo-{self.pk}"  # as Payment.provider_key


def payment_start(
    *,
    buyer: User,
    order_id: Any,
    idempotency_key: str,
    digest: str,
    provider: str,
    now: datetime,
    unanswered: bool = False,
) -> StartedPayment | None:
    """A pending payment of the buyer's held order, or None: the reference path must decide.

    `unanswered`: the payment brings no attendee answers, so an event that asks a required
    question is the reference path's (`order_answers_check`).
    """
    payment_id = uuid.uuid4()
    try:
        with _one_statement() as cursor:
            cursor.execute(
                _START,
                {
                    "order": str(order_id),
                    "buyer": buyer.pk,
                    "payment": payment_id,
                    "provider": provider,
                    "key": idempotency_key,
                    "digest": digest,
                    "now": now,
                    "unanswered": unanswered,
                },
            )
            row = cursor.fetchone()
    except DatabaseError as exc:
        _fell_back("payment_start", exc)
        return None
    if row is None:
        return None
    (
        event_id,
        amount,
        currency,
        organization_id,
        tier_ids,
        quantities,
        seat_ids,
        seat_tiers,
        seat_labels,
        names,
        answers,
    ) = row
    return StartedPayment(
        pk=payment_id,
        order_id=order_id,
        provider=provider,
        event_id=event_id,
        organization_id=organization_id,
        amount=amount,
        currency=currency,
        lines=list(zip(tier_ids or [], quantities or [], strict=True)),
        seats=list(zip(seat_ids or [], seat_tiers or [], seat_labels or [], strict=True)),
        attendee_names=names,
        # Django's connection hands jsonb over as text (its JSONField parses it).
        attendee_answers=json.loads(answers) if isinstance(answers, str) else answers,
    )


# Both rows are locked and checked first; everything after depends on that one row, so either
# the order is paid, the payment succeeded and the tickets exist, or nothing changed.
_FINISH = """
WITH ready AS (
    SELECT o.id FROM ticketing_order o JOIN ticketing_payment p ON p.order_id = o.id
    WHERE o.id = %(order)s AND p.id = %(payment)s AND o.status = 'pending'
      AND p.status = 'pending'
    FOR UPDATE
),
paid AS (
    UPDATE ticketing_order o SET status = 'paid', paid_at = %(now)s FROM ready
    WHERE o.id = ready.id
),
settled AS (
    UPDATE ticketing_payment p SET status = 'succeeded', provider_charge_id = %(charge)s,
                                   updated_at = %(now)s
    FROM ready WHERE p.id = %(payment)s
),
issued AS (
    INSERT INTO ticketing_ticket (id, order_id, event_id, tier_id, seat_id, holder_id,
                                  attendee_name, status, void_reason, qr_payload, issued_at,
                                  answers)
    SELECT t.id, ready.id, %(event)s, t.tier_id, t.seat_id, %(buyer)s, t.name, 'valid', '',
           t.payload, %(now)s, t.answers::jsonb
    FROM ready, unnest(%(ids)s::uuid[], %(tiers)s::uuid[], %(seats)s::uuid[], %(payloads)s::text[],
                       %(names)s::text[], %(answers)s::text[])
                AS t(id, tier_id, seat_id, payload, name, answers)
    RETURNING 1
)
SELECT (SELECT count(*) FROM ready), (SELECT count(*) FROM issued)
"""


def payment_finish(
    *,
    buyer: User,
    started: StartedPayment,
    charge_id: str,
    tickets: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID | None, str, str, dict[str, str]]],
    now: datetime,
) -> bool:
    """Mark a charged payment succeeded, its order paid and issue `tickets`.

    Each ticket is (id, tier, seat or None, QR payload, attendee name, answers). Runs in the
    caller's transaction (so what listens to the confirmation can write in it too); False, with
    nothing changed, when the order or payment moved on meanwhile. A database error propagates:
    roll back.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("payment_finish runs in the caller's transaction")
    with prepared_cursor() as cursor:
        cursor.execute(
            _FINISH,
            {
                "order": str(started.order_id),
                "payment": started.pk,
                "event": started.event_id,
                "buyer": buyer.pk,
                "charge": charge_id,
                "ids": [ticket[0] for ticket in tickets],
                "tiers": [ticket[1] for ticket in tickets],
                "seats": [ticket[2] for ticket in tickets],
                "payloads": [ticket[3] for ticket in tickets],
                "names": [ticket[4] for ticket in tickets],
                "answers": [json.dumps(ticket[5]) for ticket in tickets],
                "now": now,
            },
        )
        row = cursor.fetchone()
    return row is not None and row[0] == 1 and row[1] == len(tickets)
