from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field, field_validator

from accounts.api_auth import bearer
from accounts.models import User
from accounts.selectors import organizations_managed_by
from core.errors import PermissionDenied
from core.http import ApiRequest
from events import agenda, feedback, services
from events.cache import cached
from events.errors import InvalidEvent, QueryTooLong
from events.models import Category, Event
from events.search import MAX_QUERY_CHARS, SearchParams, event_search
from events.selectors import (
    event_availability_refresh,
    event_managed_by,
    event_sessions,
    events_managed_by,
    my_feedback,
    published_event,
)

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
    organizer: str
    performers: str
    latitude: float | None
    longitude: float | None
    rating_average: float | None
    rating_count: int

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
            organizer=event.organization.name,
            performers=event.performers,
            latitude=event.venue.latitude,
            longitude=event.venue.longitude,
            rating_average=event.rating_average,
            rating_count=event.rating_count,
        )


class EventHitOut(EventOut):
    min_price: Decimal | None
    available: bool
    distance_km: float | None
    title_highlight: str | None = Field(
        default=None, description="HTML: the title, escaped, with <mark> around matches"
    )
    snippet_highlight: str | None = None

    @staticmethod
    def hit(event: Event) -> "EventHitOut":
        highlight = getattr(event, "title_highlight", None)
        snippet = getattr(event, "snippet_highlight", None)
        return EventHitOut(
            **EventOut.of(event).dict(),
            min_price=getattr(event, "min_price", None),
            available=bool(getattr(event, "is_available", False)),
            distance_km=getattr(event, "distance_km", None),
            title_highlight=str(highlight) if highlight is not None else None,
            snippet_highlight=str(snippet) if snippet is not None else None,
        )


class FacetOut(Schema):
    value: str
    label: str
    count: int


class FacetsOut(Schema):
    category: list[FacetOut]
    city: list[FacetOut]


class SearchPage(Schema):
    count: int
    page: int
    pages: int
    per_page: int
    sort: str
    query: str
    corrected: str = Field(default="", description="The query as searched, if words were fixed")
    items: list[EventHitOut]
    facets: FacetsOut


class EventDetailOut(EventOut):
    tiers: list[TierOut]


class EventFilters(Schema):
    # Not a max_length: a search that is too long has its own code (QUERY_TOO_LONG), see params().
    q: str | None = Field(
        default=None, description=f"Words to search for, at most {MAX_QUERY_CHARS} characters"
    )
    category: str | None = Field(default=None, max_length=80, description="Category slug")
    city: str | None = Field(default=None, max_length=100)
    lat: float | None = Field(default=None, ge=-90, le=90, description="Near me: latitude")
    lon: float | None = Field(default=None, ge=-180, le=180, description="Near me: longitude")
    radius_km: float = Field(default=25, ge=1, le=500)
    start_date: date | None = Field(default=None, description="In each event's own time zone")
    end_date: date | None = None
    when: Literal["", "today", "tomorrow", "weekend", "week", "month"] = ""
    price_min: Decimal | None = Field(default=None, ge=0, max_digits=10, decimal_places=2)
    price_max: Decimal | None = Field(default=None, ge=0, max_digits=10, decimal_places=2)
    free: bool = False
    available: bool = Field(default=False, description="Only events with tickets left")
    sort: Literal["", "relevance", "date", "rating", "distance"] = ""
    page: int = Field(default=1, ge=1, le=10_000)
    per_page: int = Field(default=20, ge=1, le=100)
    limit: int | None = Field(default=None, ge=1, le=100, description="Instead of per_page")
    offset: int | None = Field(default=None, ge=0, le=1_000_000, description="Instead of page")

    @field_validator("q", "category", "city", mode="after")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError("NUL characters are not allowed")
        return value

    def params(self, query: str | None = None) -> SearchParams:
        if (self.lat is None) != (self.lon is None):
            raise InvalidEvent(_("Near me needs both lat and lon."))
        query = query if query is not None else self.q or ""
        if len(query) > MAX_QUERY_CHARS:
            raise QueryTooLong(
                _("A search can be at most %(count)s characters long.") % {"count": MAX_QUERY_CHARS}
            )
        return SearchParams(
            query=query,
            category=self.category or "",
            city=self.city or "",
            latitude=self.lat,
            longitude=self.lon,
            radius_km=self.radius_km,
            start_date=self.start_date,
            end_date=self.end_date,
            when=self.when,
            price_min=self.price_min,
            price_max=self.price_max,
            free_only=self.free,
            available_only=self.available,
            sort=self.sort,
            page=self.page,
            per_page=self.limit or self.per_page,
            offset=self.offset,
        )


class SearchFilters(EventFilters):
    query: str = Field(
        default="", description=f"Words to search for, at most {MAX_QUERY_CHARS} characters"
    )

    @field_validator("query", mode="after")
    @classmethod
    def _query_no_nul(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("NUL characters are not allowed")
        return value


def _search_page(params: SearchParams, anonymous_cache: bool) -> SearchPage:
    def build() -> dict[str, Any]:
        result = event_search(params)
        return SearchPage(
            count=result.count,
            page=result.page,
            pages=result.num_pages,
            per_page=result.per_page,
            sort=result.sort,
            query=params.clean_query,
            corrected=result.corrected,
            items=[EventHitOut.hit(e) for e in result.events],
            facets=FacetsOut(
                category=[FacetOut(**f.__dict__) for f in result.categories],
                city=[FacetOut(**f.__dict__) for f in result.cities],
            ),
        ).dict()

    data = cached("listing", "api", params.cache_key(), build) if anonymous_cache else build()
    return SearchPage(**data)


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
    if event_availability_refresh(event.pk):
        event = published_event(event_id)
    return event


def detail_out(event: Event) -> EventDetailOut:
    return EventDetailOut(**EventOut.of(event).dict(), tiers=tiers_out(event))


@router.get("/events", response=SearchPage, auth=None)
def list_events(request: HttpRequest, filters: Query[EventFilters]) -> SearchPage:
    """Upcoming public events: filters, sorting, facet counts, pages (stable order)."""
    return _search_page(filters.params(), anonymous_cache=True)


@router.get("/search", response=SearchPage, auth=None)
def search_events(request: HttpRequest, filters: Query[SearchFilters]) -> SearchPage:
    """Full-text search (typos forgiven) with the same filters as /events."""
    return _search_page(filters.params(query=filters.query), anonymous_cache=True)


class SessionOut(Schema):
    id: UUID
    title: str
    starts_at: datetime
    ends_at: datetime
    room: str | None
    track: str | None
    speakers: list[str]
    capacity: int | None
    seats_left: int | None


@router.get("/events/{event_id}/sessions", response=list[SessionOut], auth=None)
def event_sessions_list(request: HttpRequest, event_id: UUID) -> list[SessionOut]:
    return [
        SessionOut(
            id=s.pk,
            title=s.title,
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            room=s.room.name if s.room else None,
            track=s.track.name if s.track else None,
            speakers=[sp.name for sp in s.speakers.all()],
            capacity=s.capacity,
            seats_left=s.seats_left,
        )
        for s in event_sessions(published_event(event_id))
    ]


class StarOut(Schema):
    starred: bool
    clashes: list[UUID]


@router.post("/sessions/{session_id}/star", response=StarOut, auth=bearer)
def star_session(request: ApiRequest, session_id: UUID) -> StarOut:
    result = agenda.session_star(user=request.auth, session_id=session_id)
    return StarOut(starred=True, clashes=[c.pk for c in result.clashes])


@router.delete("/sessions/{session_id}/star", response=StarOut, auth=bearer)
def unstar_session(request: ApiRequest, session_id: UUID) -> StarOut:
    agenda.session_unstar(user=request.auth, session_id=session_id)
    return StarOut(starred=False, clashes=[])


class FeedbackIn(Schema):
    rating: int = Field(ge=1, le=5, strict=True)
    comment: str = Field(default="", max_length=4000)


class FeedbackOut(Schema):
    id: int
    rating: int
    comment: str
    created_at: datetime


@router.put("/events/{event_id}/feedback", response=FeedbackOut, auth=bearer)
def give_feedback(request: ApiRequest, event_id: UUID, body: FeedbackIn) -> FeedbackOut:
    """Rate an ended event you held a ticket for; again within 14 days to change it."""
    event = published_event(event_id)
    mine = my_feedback(request.auth, event)
    if mine is None:
        entry = feedback.feedback_submit(author=request.auth, event=event, **body.dict())
    else:
        entry = feedback.feedback_edit(author=request.auth, feedback_id=mine.pk, **body.dict())
    return FeedbackOut(
        id=entry.pk, rating=entry.rating, comment=entry.comment, created_at=entry.created_at
    )


def _anyone(request: HttpRequest) -> bool:
    """Lets a request without a token through; a valid bearer token is tried first."""
    return True


@router.get(
    "/events/{event_id}",
    response=EventDetailOut,
    auth=[bearer, _anyone],
    openapi_extra={"description": "Public events to anyone; drafts only to their organizer."},
)
def get_event(request: HttpRequest, event_id: UUID) -> EventDetailOut:
    user = request.auth if isinstance(request.auth, User) else None  # type: ignore[attr-defined]
    if user is not None:
        managed = events_managed_by(user).filter(pk=event_id, status=Event.Status.DRAFT)
        if managed.exists():
            return detail_out(event_managed_by(user, event_id))
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
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    performers: str = Field(default="", max_length=500)
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
        raise PermissionDenied(_("You do not manage that organization."))
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
        performers=body.performers,
        venue=services.VenueSpec(
            name=body.venue_name,
            city=body.city,
            address=body.venue_address,
            latitude=body.latitude,
            longitude=body.longitude,
        ),
        tiers=[services.TierSpec(**t.dict()) for t in body.tiers],
    )
    return detail_out(event_managed_by(user, event.pk))


class TierPatch(TierIn):
    id: UUID | None = Field(default=None, description="An existing tier; leave out for a new one")


class EventPatch(Schema):
    """Only the fields sent change. `tiers`: tiers to change (with `id`) or add (without)."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None
    category: str | None = None
    performers: str | None = Field(default=None, max_length=500)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    time_zone: str | None = None
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    venue_name: str | None = Field(default=None, min_length=1, max_length=200)
    venue_address: str = Field(default="", max_length=300)
    city: str | None = Field(default=None, min_length=1, max_length=100)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    tiers: list[TierPatch] | None = Field(default=None, min_length=1, max_length=50)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "title": "Jazz night (late show)",
                    "starts_at": "2027-03-05T21:00:00+01:00",
                    "ends_at": "2027-03-05T23:30:00+01:00",
                    "tiers": [
                        {"id": "3f0c…", "name": "Standing", "price": "25.00", "capacity": 300},
                        {"name": "Balcony", "price": "40.00", "capacity": 80},
                    ],
                }
            ]
        }
    }


@router.patch(
    "/events/{event_id}",
    response=EventDetailOut,
    auth=bearer,
    openapi_extra={
        "responses": {
            "422": {
                "description": "Invalid, or a capacity below what is sold (CAPACITY_BELOW_SOLD)"
            },
            "409": {"description": "A cancelled event cannot be edited (EVENT_NOT_EDITABLE)"},
        }
    },
)
def update_event(request: ApiRequest, event_id: UUID, body: EventPatch) -> EventDetailOut:
    """Change an event's details, times, venue and tiers (all or nothing)."""
    user = request.auth
    event = event_managed_by(user, event_id)
    data = body.dict(exclude_unset=True)
    fields = {k: data[k] for k in services.EDITABLE_FIELDS if k in data and k != "category"}
    for name in ("title", "starts_at", "ends_at", "time_zone", "currency"):
        if name in fields and fields[name] is None:
            raise InvalidEvent(_("%(field)s cannot be empty.") % {"field": name})
    if "description" in fields and fields["description"] is None:
        fields["description"] = ""
    if "performers" in fields and fields["performers"] is None:
        fields["performers"] = ""
    if "category" in data:
        category = (
            Category.objects.filter(slug=data["category"]).first() if data["category"] else None
        )
        if data["category"] and category is None:
            raise InvalidEvent(_("Unknown category."))
        fields["category"] = category
    venue = None
    if body.venue_name or body.city:
        venue = services.VenueSpec(
            name=body.venue_name or event.venue.name,
            city=body.city or event.venue.city,
            address=body.venue_address,
            latitude=body.latitude,
            longitude=body.longitude,
        )
    tiers = [services.TierSpec(**t.dict()) for t in body.tiers] if body.tiers else None
    services.event_update(actor=user, event=event, venue=venue, tiers=tiers, **fields)
    return detail_out(event_managed_by(user, event.pk))


@router.delete(
    "/events/{event_id}",
    response={204: None},
    auth=bearer,
    openapi_extra={
        "responses": {"409": {"description": "Not a draft, or it has orders (EVENT_HAS_ORDERS)"}}
    },
)
def delete_event(request: ApiRequest, event_id: UUID) -> Status:
    """Delete a draft without orders; anything else is cancelled instead (409 EVENT_HAS_ORDERS)."""
    user = request.auth
    services.event_delete(actor=user, event=event_managed_by(user, event_id))
    return Status(204, None)


@router.post("/events/{event_id}/publish", response=EventDetailOut, auth=bearer)
def publish_event(request: ApiRequest, event_id: UUID) -> EventDetailOut:
    user = request.auth
    event = services.event_publish(actor=user, event=event_managed_by(user, event_id))
    return detail_out(event_managed_by(user, event.pk))
