from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from accounts.selectors import organizations_managed_by
from config.api import bearer
from config.errors import PermissionDenied
from config.http import ApiRequest
from events import services
from events.models import Category, Event
from events.selectors import event_managed_by, published_event, upcoming_events
from ticketing.services import orders_release_expired

router = Router(tags=["events"])


class TierOut(Schema):
    id: UUID
    name: str
    price: Decimal
    currency: str
    capacity: int
    available: int
    max_per_order: int


class EventOut(Schema):
    id: UUID
    title: str
    description: str
    category: str | None
    venue: str
    city: str
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    currency: str
    status: str
    url: str

    @staticmethod
    def of(event: Event) -> "EventOut":
        return EventOut(
            id=event.pk,
            title=event.title,
            description=event.description,
            category=event.category.slug if event.category else None,
            venue=event.venue.name,
            city=event.venue.city,
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            time_zone=event.time_zone,
            currency=event.currency,
            status=event.status,
            url=event.get_absolute_url(),
        )


class EventDetailOut(EventOut):
    tiers: list[TierOut]


class EventPage(Schema):
    count: int
    items: list[EventOut]


class EventFilters(Schema):
    category: str | None = None
    city: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    q: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0)


def tiers_out(event: Event) -> list[TierOut]:
    return [
        TierOut(
            id=t.pk,
            name=t.name,
            price=t.price,
            currency=event.currency,
            capacity=t.capacity,
            available=t.available,
            max_per_order=t.max_per_order,
        )
        for t in event.tiers.all()
    ]


def _fresh_event(event_id: UUID) -> Event:
    """The public event with expired holds released first, so availability is current."""
    event = published_event(event_id)
    if orders_release_expired(event_id=event.pk):
        event = published_event(event_id)
    return event


def detail_out(event: Event) -> EventDetailOut:
    return EventDetailOut(**EventOut.of(event).dict(), tiers=tiers_out(event))


@router.get("/events", response=EventPage, auth=None)
def list_events(request: HttpRequest, filters: Query[EventFilters]) -> EventPage:
    events = upcoming_events(
        category=filters.category,
        city=filters.city,
        start_date=filters.start_date,
        end_date=filters.end_date,
        query=filters.q,
    )
    page = list(events[filters.offset : filters.offset + filters.limit])
    return EventPage(count=events.count(), items=[EventOut.of(e) for e in page])


@router.get("/events/{event_id}", response=EventDetailOut, auth=None)
def get_event(request: HttpRequest, event_id: UUID) -> EventDetailOut:
    return detail_out(_fresh_event(event_id))


@router.get("/events/{event_id}/tickets", response=list[TierOut], auth=None)
def event_tickets(request: HttpRequest, event_id: UUID) -> list[TierOut]:
    return tiers_out(_fresh_event(event_id))


class TierIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    price: Decimal = Field(ge=0, max_digits=10, decimal_places=2)
    capacity: int = Field(ge=0, le=1_000_000, strict=True)
    max_per_order: int = Field(default=10, ge=1, le=100, strict=True)
    sales_start: datetime | None = None
    sales_end: datetime | None = None


class EventIn(Schema):
    organization_id: UUID | None = None
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    category: str | None = None
    venue_name: str = Field(min_length=1, max_length=200)
    venue_address: str = Field(default="", max_length=300)
    city: str = Field(min_length=1, max_length=100)
    starts_at: datetime
    ends_at: datetime
    time_zone: str = "UTC"
    currency: str = Field(default="EUR", min_length=3, max_length=3)
    tiers: list[TierIn] = Field(min_length=1, max_length=50)


@router.post("/events", response={201: EventDetailOut}, auth=bearer)
def create_event(request: ApiRequest, body: EventIn) -> EventDetailOut:
    user = request.auth
    organizations = organizations_managed_by(user)
    if body.organization_id:
        organization = organizations.filter(pk=body.organization_id).first()
    else:
        organization = organizations.first()
    if organization is None:
        raise PermissionDenied("You do not manage that organization.")
    category = Category.objects.filter(slug=body.category).first() if body.category else None
    if body.category and category is None:
        raise Http404
    event = services.event_create(
        actor=user,
        organization=organization,
        title=body.title,
        description=body.description,
        category=category,
        time_zone=body.time_zone,
        currency=body.currency,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        venue=services.VenueSpec(name=body.venue_name, city=body.city, address=body.venue_address),
        tiers=[services.TierSpec(**t.dict()) for t in body.tiers],
    )
    return detail_out(event_managed_by(user, event.pk))


@router.post("/events/{event_id}/publish", response=EventDetailOut, auth=bearer)
def publish_event(request: ApiRequest, event_id: UUID) -> EventDetailOut:
    user = request.auth
    event = services.event_publish(actor=user, event=event_managed_by(user, event_id))
    return detail_out(event_managed_by(user, event.pk))
