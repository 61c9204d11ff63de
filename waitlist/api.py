from datetime import datetime
from uuid import UUID

from ninja import Router, Schema, Status
from pydantic import Field

from accounts.api_auth import bearer
from core.http import ApiRequest
from events.selectors import published_event
from waitlist import services
from waitlist.selectors import waiting_places

router = Router(tags=["waitlist"], auth=bearer)


class JoinIn(Schema):
    """Leave out `tier_id` to wait for any ticket of the event."""

    tier_id: UUID | None = None


class PlaceOut(Schema):
    entry_id: int
    tier_id: UUID | None
    position: int
    joined_at: datetime


def _places(request: ApiRequest, event_id: UUID) -> list[PlaceOut]:
    event = published_event(event_id)
    return [
        PlaceOut(
            entry_id=p.entry.pk,
            tier_id=p.entry.tier_id,
            position=p.position,
            joined_at=p.entry.created_at,
        )
        for p in waiting_places(request.auth, event)
    ]


@router.post("/events/{event_id}/waitlist", response={201: PlaceOut})
def join(request: ApiRequest, event_id: UUID, body: JoinIn) -> Status[PlaceOut]:
    """Join a sold-out tier's line (or "any tier"); joining again keeps your place."""
    event = published_event(event_id)
    entry = services.waitlist_join(user=request.auth, event=event, tier_id=body.tier_id)
    place = next(p for p in _places(request, event_id) if p.entry_id == entry.pk)
    return Status(201, place)


@router.get("/events/{event_id}/waitlist", response=list[PlaceOut])
def places(request: ApiRequest, event_id: UUID) -> list[PlaceOut]:
    """Your places in this event's lines."""
    return _places(request, event_id)


@router.delete("/waitlist/{entry_id}", response={204: None})
def leave(request: ApiRequest, entry_id: int) -> Status[None]:
    services.waitlist_leave(user=request.auth, entry_id=entry_id)
    return Status(204, None)


class AcceptIn(Schema):
    idempotency_key: str = Field(min_length=1, max_length=100)
    card_number: str = Field(default="4242424242424242", min_length=12, max_length=23)


class AcceptOut(Schema):
    order_id: UUID
    status: str
    ticket_ids: list[UUID]
    qr_codes: list[str]


@router.post("/waitlist/offers/{token}/accept", response=AcceptOut)
def accept(request: ApiRequest, token: str, body: AcceptIn) -> AcceptOut:
    """Pay for the seat an offer holds for you, at the offered price."""
    outcome = services.waitlist_offer_accept(
        user=request.auth,
        token=token,
        idempotency_key=body.idempotency_key,
        source=body.card_number,
    )
    return AcceptOut(
        order_id=outcome.order.pk,
        status=outcome.order.status,
        ticket_ids=[t.pk for t in outcome.tickets],
        qr_codes=[t.qr_payload for t in outcome.tickets],
    )
