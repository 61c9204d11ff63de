from datetime import datetime
from decimal import Decimal
from uuid import UUID

from ninja import Router, Schema
from pydantic import Field, model_validator

from config.api import bearer
from config.http import ApiRequest
from ticketing import services
from ticketing.models import Order
from ticketing.selectors import order_of_buyer

router = Router(tags=["booking"], auth=bearer)


class ItemIn(Schema):
    tier_id: UUID
    quantity: int = Field(ge=1, le=100, strict=True)


class RegisterIn(Schema):
    """Either `tier_id` + `quantity`, or `items` for an order over several tiers."""

    tier_id: UUID | None = None
    quantity: int | None = Field(default=None, ge=1, le=100, strict=True)
    items: list[ItemIn] | None = Field(default=None, min_length=1, max_length=20)
    idempotency_key: str = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def one_shape(self) -> "RegisterIn":
        if self.items is None and (self.tier_id is None or self.quantity is None):
            raise ValueError("give tier_id and quantity, or items")
        return self

    def pairs(self) -> list[tuple[UUID, int]]:
        if self.items is not None:
            return [(item.tier_id, item.quantity) for item in self.items]
        return [(self.tier_id, self.quantity)]  # type: ignore[list-item] # one_shape checked


class OrderOut(Schema):
    order_id: UUID
    status: str
    expires_at: datetime
    total: Decimal
    currency: str

    @staticmethod
    def of(order: Order) -> "OrderOut":
        return OrderOut(
            order_id=order.pk,
            status=order.status,
            expires_at=order.expires_at,
            total=order.total,
            currency=order.currency,
        )


class PayIn(Schema):
    idempotency_key: str = Field(min_length=1, max_length=100)
    card_number: str = Field(default="4242424242424242", min_length=12, max_length=23)


class PayOut(Schema):
    order_id: UUID
    status: str
    ticket_ids: list[UUID]
    qr_codes: list[str]


@router.post("/events/{event_id}/register", response={201: OrderOut})
def register(request: ApiRequest, event_id: UUID, body: RegisterIn) -> OrderOut:
    order = services.order_reserve(
        buyer=request.auth,
        event_id=event_id,
        items=body.pairs(),
        idempotency_key=body.idempotency_key,
    )
    return OrderOut.of(order)


@router.post("/orders/{order_id}/pay", response=PayOut)
def pay(request: ApiRequest, order_id: UUID, body: PayIn) -> PayOut:
    outcome = services.order_pay(
        buyer=request.auth,
        order_id=order_id,
        idempotency_key=body.idempotency_key,
        source=body.card_number,
    )
    return PayOut(
        order_id=outcome.order.pk,
        status=outcome.order.status,
        ticket_ids=[t.pk for t in outcome.tickets],
        qr_codes=[t.qr_payload for t in outcome.tickets],
    )


@router.get("/orders/{order_id}", response=OrderOut)
def get_order(request: ApiRequest, order_id: UUID) -> OrderOut:
    user = request.auth
    return OrderOut.of(order_of_buyer(user, order_id))
