from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Router, Schema, Status
from pydantic import Field, model_validator

from accounts.api_auth import bearer
from core.http import ApiRequest
from events.questions import answers_deadline
from ticketing.aftersale import refunds, transfers
from ticketing.aftersale.answers import order_answers_change
from ticketing.booking import services
from ticketing.errors import SoldOut
from ticketing.models import Order
from ticketing.seating import services as seating
from ticketing.seating.services import MAX_SEATS_PER_ORDER
from ticketing.selectors import order_of_buyer, seat_labels_of, seat_plan, seat_states_cached
from waitingroom.errors import QueueRequired
from waitingroom.services import queue_pass_missing

router = Router(tags=["booking"], auth=bearer)


class ItemIn(Schema):
    tier_id: UUID
    quantity: int = Field(ge=1, le=100, strict=True)


class BestAvailableIn(Schema):
    tier_id: UUID
    quantity: int = Field(ge=1, le=MAX_SEATS_PER_ORDER, strict=True)


class RegisterIn(Schema):
    """One of: `tier_id` + `quantity`; `items` for an order over several tiers; `seat_ids`
    (assigned seating); `best_available` (the best adjacent seats of a tier)."""

    tier_id: UUID | None = None
    quantity: int | None = Field(default=None, ge=1, le=100, strict=True)
    items: list[ItemIn] | None = Field(default=None, min_length=1, max_length=20)
    seat_ids: list[UUID] | None = Field(default=None, min_length=1, max_length=MAX_SEATS_PER_ORDER)
    best_available: BestAvailableIn | None = None
    idempotency_key: str = Field(min_length=1, max_length=100)
    # A voucher code: its discount, and the hidden tiers it unlocks (seats of them too).
    voucher: str | None = Field(default=None, max_length=40)

    @model_validator(mode="after")
    def one_shape(self) -> "RegisterIn":
        shapes = [
            self.tier_id is not None or self.quantity is not None,
            self.items is not None,
            self.seat_ids is not None,
            self.best_available is not None,
        ]
        if sum(shapes) != 1 or (shapes[0] and (self.tier_id is None or self.quantity is None)):
            raise ValueError("give tier_id and quantity, or items, or seat_ids, or best_available")
        return self

    def pairs(self) -> list[tuple[UUID, int]]:
        if self.items is not None:
            return [(item.tier_id, item.quantity) for item in self.items]
        return [(self.tier_id, self.quantity)]  # type: ignore[list-item] # one_shape checked


class OrderOut(Schema):
    order_id: UUID
    ref: str
    status: str
    expires_at: datetime
    total: Decimal
    currency: str
    seat_ids: list[UUID] = []

    @staticmethod
    def of(order: Order) -> "OrderOut":
        return OrderOut(
            order_id=order.pk,
            ref=order.ref,
            status=order.status,
            expires_at=order.expires_at,
            total=order.total,
            currency=order.currency,
            seat_ids=order.seat_ids,
        )


class AttendeeIn(Schema):
    name: str = Field(default="", max_length=150, description="Blank: the buyer's name")
    answers: dict[str, str | bool] = Field(
        default_factory=dict,
        description="Answers to the event's attendee questions, by question id "
        '(yes/no questions take true/false or "yes"/"no")',
    )


class PayIn(Schema):
    idempotency_key: str = Field(min_length=1, max_length=100)
    card_number: str = Field(default="4242424242424242", min_length=12, max_length=23)
    attendees: list[AttendeeIn] | None = Field(
        default=None,
        max_length=100,
        description="Per ticket in ticket order; required when the event asks required "
        "questions (else ANSWER_REQUIRED)",
    )


class PayOut(Schema):
    order_id: UUID
    status: str
    ticket_ids: list[UUID]
    qr_codes: list[str]
    seat_labels: list[str | None]


@router.post("/events/{event_id}/register", response={201: OrderOut})
def register(request: ApiRequest, event_id: UUID, body: RegisterIn) -> OrderOut:
    """Hold tickets (or seats); SOLD_OUT names the event's waitlist to join instead.

    While the event's waiting room is on, only with a queue pass of the caller's own.
    """
    if queue_pass_missing(request, event_id):
        raise QueueRequired()
    try:
        if body.seat_ids is not None or body.best_available is not None:
            best = body.best_available
            order = seating.order_reserve_seats(
                buyer=request.auth,
                event_id=event_id,
                idempotency_key=body.idempotency_key,
                seat_ids=body.seat_ids or (),
                best_available=(best.tier_id, best.quantity) if best else None,
                voucher=body.voucher or "",
            )
        else:
            order = services.order_reserve(
                buyer=request.auth,
                event_id=event_id,
                items=body.pairs(),
                idempotency_key=body.idempotency_key,
                voucher=body.voucher or "",
            )
    except SoldOut as exc:
        raise exc.with_waitlist(event_id) from None
    return OrderOut.of(order)


@router.post("/orders/{order_id}/pay", response=PayOut)
def pay(request: ApiRequest, order_id: UUID, body: PayIn) -> PayOut:
    if body.attendees is not None:
        services.order_attendees_set(
            buyer=request.auth,
            order_id=order_id,
            names=[a.name for a in body.attendees],
            answers=[dict(a.answers) for a in body.attendees],
        )
    outcome = services.order_pay(
        buyer=request.auth,
        order_id=order_id,
        idempotency_key=body.idempotency_key,
        source=body.card_number,
        check_answers=body.attendees is None,
    )
    return PayOut(
        order_id=outcome.order.pk,
        status=outcome.order.status,
        ticket_ids=[t.pk for t in outcome.tickets],
        qr_codes=[t.qr_payload for t in outcome.tickets],
        seat_labels=seat_labels_of(outcome.tickets),
    )


@router.get("/orders/{order_id}", response=OrderOut)
def get_order(request: ApiRequest, order_id: UUID) -> OrderOut:
    user = request.auth
    return OrderOut.of(order_of_buyer(user, order_id))


class TicketAnswersIn(Schema):
    ticket_id: UUID
    answers: dict[str, str | bool] = Field(
        default_factory=dict,
        description="Answers by question id; a question left out or blank loses its answer",
    )


class AnswersIn(Schema):
    tickets: list[TicketAnswersIn] = Field(max_length=100)


class TicketAnswersOut(Schema):
    ticket_id: UUID
    answers: dict[str, str]


class AnswersOut(Schema):
    order_id: UUID
    editable_until: datetime
    tickets: list[TicketAnswersOut]


@router.put("/orders/{order_id}/answers", response=AnswersOut)
def order_answers(request: ApiRequest, order_id: UUID, body: AnswersIn) -> AnswersOut:
    """Change the attendee answers of a paid order's valid tickets until the event's deadline
    (ANSWERS_LOCKED after it; ANSWER_REQUIRED / ANSWER_INVALID as at checkout)."""
    tickets = order_answers_change(
        buyer=request.auth,
        order_id=order_id,
        answers={str(t.ticket_id): dict(t.answers) for t in body.tickets},
    )
    event = tickets[0].event if tickets else order_of_buyer(request.auth, order_id).event
    return AnswersOut(
        order_id=order_id,
        editable_until=answers_deadline(event),
        tickets=[TicketAnswersOut(ticket_id=t.pk, answers=t.answers or {}) for t in tickets],
    )


public_router = Router(tags=["seating"])


class SeatsOut(Schema):
    """Compact: `seats` rows are [id, label, x, y, tier index, flags]; `states` has one letter
    per seat in the same order: a(vailable), h(eld), s(old), b(locked). Flags: w(heelchair),
    c(ompanion), r(estricted view), a(isle)."""

    version: str
    states: str
    tiers: list[dict[str, Any]] | None = None
    seats: list[list[Any]] | None = None


@public_router.get("/events/{event_id}/seats", response={200: SeatsOut, 304: None})
def seats(request: HttpRequest, event_id: UUID, states_only: bool = False) -> Any:
    """Seat states of a published event, with `ETag`: poll with `If-None-Match` and
    `states_only=true` for live updates."""
    states = seat_states_cached(event_id)
    etag = f'"{states.version}"'
    if states_only and request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        body: dict[str, Any] = {"version": states.version, "states": states.states}
        if not states_only:
            plan = seat_plan(event_id)
            body["tiers"], body["seats"] = plan.tiers, plan.rows
        response = JsonResponse(body)
    response["ETag"] = etag
    response["Cache-Control"] = "no-cache"
    return response


# --- After the sale -------------------------------------------------------------------------


class RefundIn(Schema):
    """Leave out `ticket_ids` to refund every valid ticket of the order."""

    ticket_ids: list[UUID] | None = Field(default=None, min_length=1, max_length=100)
    idempotency_key: str = Field(min_length=1, max_length=100)


class RefundOut(Schema):
    refund_id: UUID
    order_id: UUID
    status: str
    ticket_ids: list[UUID]
    gross: Decimal
    fee: Decimal
    amount: Decimal
    currency: str


@router.post("/orders/{order_id}/refund", response={200: RefundOut, 202: RefundOut})
def refund(request: ApiRequest, order_id: UUID, body: RefundIn) -> Status[RefundOut]:
    """Refund tickets within the event's policy; 202 while the processor has not confirmed."""
    done = refunds.order_refund(
        actor=request.auth,
        order_id=order_id,
        ticket_ids=list(body.ticket_ids) if body.ticket_ids else None,
        idempotency_key=body.idempotency_key,
    )
    out = RefundOut(
        refund_id=done.pk,
        order_id=done.order_id,
        status=done.status,
        ticket_ids=list(done.lines.values_list("ticket_id", flat=True)),
        gross=done.gross,
        fee=done.fee,
        amount=done.amount,
        currency=done.currency,
    )
    return Status(200 if done.status == "succeeded" else 202, out)


class TransferIn(Schema):
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class TransferOut(Schema):
    transfer_id: UUID
    ticket_id: UUID
    to_email: str
    status: str


@router.post("/tickets/{ticket_id}/transfer", response={201: TransferOut})
def transfer(request: ApiRequest, ticket_id: UUID, body: TransferIn) -> Status[TransferOut]:
    """Send a ticket to an email address; it stays yours until they accept."""
    sent = transfers.ticket_transfer_send(
        sender=request.auth, ticket_id=ticket_id, to_email=body.email
    )
    return Status(
        201,
        TransferOut(
            transfer_id=sent.pk,
            ticket_id=sent.ticket_id,
            to_email=sent.to_email,
            status=sent.status,
        ),
    )


class TicketOut(Schema):
    ticket_id: UUID
    qr_code: str


@router.post("/transfers/{token}/accept", response=TicketOut)
def transfer_accept(request: ApiRequest, token: str) -> TicketOut:
    """Accept a ticket sent to your email: a new ticket and QR; the sender's is void."""
    ticket = transfers.ticket_transfer_accept(recipient=request.auth, token=token)
    return TicketOut(ticket_id=ticket.pk, qr_code=ticket.qr_payload)
