"""The organizer's API: their events, orders, attendees, exports and figures.

Everything is scoped to the caller's organizations through the same selectors as the pages:
someone else's event id is a 404, exactly like an id that does not exist.
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal
from uuid import UUID

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema
from pydantic import Field

from accounts.api_auth import bearer
from analytics import attendees as attendee_lists
from analytics.exports import attendees_csv
from analytics.scope import dashboard_events
from analytics.stats import Period, Totals, event_stats, organizer_stats
from core.errors import DomainError
from core.http import ApiRequest
from events.questions import event_questions
from events.selectors import event_managed_by, events_managed_by

router = Router(tags=["organizer"], auth=bearer)


class InvalidPeriod(DomainError):
    code = "INVALID_PERIOD"
    status = 422
    message = _("`from` must be before `to`, at most 366 days apart.")


class OrganizerEventOut(Schema):
    id: UUID
    title: str
    status: str
    starts_at: datetime
    ends_at: datetime
    venue: str
    city: str
    capacity: int
    sold: int

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": "7d7e4c44-8d0a-4c43-b1b3-0d6f6f0b3a10",
                    "title": "Jazz night",
                    "status": "draft",
                    "starts_at": "2027-03-05T20:00:00Z",
                    "ends_at": "2027-03-05T23:00:00Z",
                    "venue": "Blue Room",
                    "city": "Berlin",
                    "capacity": 300,
                    "sold": 0,
                }
            ]
        }
    }


@router.get("/organizer/events", response=list[OrganizerEventOut])
def organizer_events(
    request: ApiRequest, status: Literal["draft", "published", "cancelled"] | None = None
) -> list[OrganizerEventOut]:
    """Your organizations' events, drafts included; `status` filters."""
    events = events_managed_by(request.auth)
    if status:
        events = events.filter(status=status)
    return [
        OrganizerEventOut(
            id=e.pk,
            title=e.title,
            status=e.status,
            starts_at=e.starts_at,
            ends_at=e.ends_at,
            venue=e.venue.name,
            city=e.venue.city,
            capacity=getattr(e, "capacity_total", 0) or 0,
            sold=getattr(e, "sold_total", 0) or 0,
        )
        for e in events[:500]
    ]


class OrderLineOut(Schema):
    tier: str
    quantity: int
    unit_price: Decimal


class OrderOut(Schema):
    id: UUID
    reference: str
    status: str
    buyer_name: str
    buyer_email: str
    total: Decimal
    currency: str
    created_at: datetime
    paid_at: datetime | None
    lines: list[OrderLineOut]


class OrderPage(Schema):
    count: int
    items: list[OrderOut]


@router.get("/events/{event_id}/orders", response=OrderPage)
def event_orders(
    request: ApiRequest,
    event_id: UUID,
    q: str = Query("", max_length=100, description="Buyer name, email or order reference"),
    status: Literal["", "pending", "paid", "expired", "cancelled"] = "",
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=1_000_000),
) -> OrderPage:
    """Orders of one of your events, newest first."""
    event = event_managed_by(request.auth, event_id)
    orders = attendee_lists.orders_of_event(event, q=q, status=status)
    page = list(orders[offset : offset + limit])
    return OrderPage(
        count=orders.count(),
        items=[
            OrderOut(
                id=o.pk,
                reference=o.code,
                status=o.status,
                buyer_name=o.buyer.full_name,
                buyer_email=o.buyer.email,
                total=o.total,
                currency=o.currency,
                created_at=o.created_at,
                paid_at=o.paid_at,
                lines=[
                    OrderLineOut(
                        tier=line.tier.name, quantity=line.quantity, unit_price=line.unit_price
                    )
                    for line in o.lines.all()
                ],
            )
            for o in page
        ],
    )


class AnswerOut(Schema):
    question_id: UUID
    question: str
    answer: str = Field(description="Blank when not answered (or not asked of this ticket)")


class AttendeeOut(Schema):
    ticket_id: UUID
    ticket_ref: str
    name: str
    email: str
    tier: str
    tier_id: UUID
    seat: str
    order_id: UUID
    order_ref: str
    status: str = Field(description="valid, refunded, transferred, cancelled or void")
    checked_in_at: datetime | None
    answers: list[AnswerOut] = Field(description="One per attendee question of the event")


class AttendeePage(Schema):
    items: list[AttendeeOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "items": [
                        {
                            "ticket_id": "0b6c0b1e-2f57-4a0e-9b53-5f7a9a3c0e11",
                            "ticket_ref": "K7QM 3XPA",
                            "name": "Ada Lovelace",
                            "email": "ada@example.com",
                            "tier": "Standing",
                            "tier_id": "3f0c2a4e-7f3b-4a43-9f3e-0c6a3b9d7e21",
                            "seat": "",
                            "order_id": "a1b2c3d4-0000-4000-8000-000000000001",
                            "order_ref": "HN4R 8TWD",
                            "status": "valid",
                            "checked_in_at": None,
                            "answers": [
                                {
                                    "question_id": "5d9e2c1a-8b7f-4c3e-9a21-6f0b4d3c2e10",
                                    "question": "Dietary requirements",
                                    "answer": "Vegetarian",
                                }
                            ],
                        }
                    ],
                    "next_cursor": "MjAyNy0wMy0wNVQyMDowMDowMCswMDowMHwwYjZj",
                }
            ]
        }
    }


class AttendeeQuery(Schema):
    q: str = Field(
        default="", max_length=100, description="Name or email (typos forgiven), or a reference"
    )
    tier: UUID | None = None
    checked_in: bool | None = None
    status: Literal["", "valid", "refunded", "transferred", "cancelled"] = ""
    cursor: str = Field(default="", max_length=200)
    limit: int = Field(default=100, ge=1, le=500)

    def filters(self) -> attendee_lists.AttendeeFilters:
        return attendee_lists.AttendeeFilters(
            q=self.q, tier=str(self.tier or ""), checked_in=self.checked_in, status=self.status
        )


@router.get("/events/{event_id}/attendees", response=AttendeePage)
def event_attendees(
    request: ApiRequest, event_id: UUID, query: Query[AttendeeQuery]
) -> AttendeePage:
    """Attendees of one of your events in ticket order, a page at a time (cursor pagination)."""
    event = event_managed_by(request.auth, event_id)
    filters = query.filters()
    tickets = attendee_lists.attendees(event, filters).order_by("issued_at", "id")
    if query.cursor:
        tickets = attendee_lists.after_cursor(tickets, query.cursor)
    page = list(tickets[: query.limit + 1])
    questions = event_questions(event.pk)
    more = len(page) > query.limit
    page = page[: query.limit]
    return AttendeePage(
        items=[AttendeeOut(**attendee_lists.attendee_row(t, questions)) for t in page],
        next_cursor=attendee_lists.encode_cursor(page[-1]) if more and page else None,
    )


@router.get(
    "/events/{event_id}/attendees.csv",
    response={200: None},
    openapi_extra={
        "responses": {"200": {"description": "CSV, streamed", "content": {"text/csv": {}}}}
    },
)
def event_attendees_csv(
    request: ApiRequest, event_id: UUID, query: Query[AttendeeQuery]
) -> StreamingHttpResponse:
    """The attendee list (same filters as /attendees) as CSV, streamed."""
    event = event_managed_by(request.auth, event_id)
    tickets = attendee_lists.attendees(event, query.filters())
    return attendees_csv(event, tickets)


class MoneyOut(Schema):
    currency: str
    gross: Decimal
    refunds: Decimal
    fees: Decimal
    net: Decimal


class TotalsOut(Schema):
    orders: int
    tickets: int
    refunded_tickets: int
    transfers: int
    checkins: int
    waitlist_joins: int
    waitlist_offers: int
    waitlist_accepted: int
    page_views: int
    conversion: float | None = Field(description="Paid orders per event page view")
    money: list[MoneyOut]

    @staticmethod
    def of(totals: Totals) -> "TotalsOut":
        return TotalsOut(
            **{k: v for k, v in totals.counts.items() if k != "unique_visitors"},
            conversion=totals.conversion,
            money=[MoneyOut(currency=c, **values) for c, values in sorted(totals.money.items())],
        )


class TierStatsOut(Schema):
    tier_id: UUID
    name: str
    orders: int
    tickets: int
    refunded_tickets: int
    gross: Decimal
    refunds: Decimal
    net: Decimal
    checkins: int


class SeriesPointOut(Schema):
    at: datetime
    tickets: int
    net: Decimal
    checkins: int


class EventStatsOut(Schema):
    as_of: datetime | None = Field(description="The summary tables are true as of this moment")
    currency: str
    totals: TotalsOut
    tiers: list[TierStatsOut]
    sales: list[SeriesPointOut]
    rating_count: int
    rating_mean: Decimal | None


@router.get("/events/{event_id}/stats", response=EventStatsOut)
def event_stats_view(request: ApiRequest, event_id: UUID) -> EventStatsOut:
    """Figures of one of your events, from the summary tables (refreshed every minute)."""
    event = event_managed_by(request.auth, event_id)
    stats = event_stats(event)
    return EventStatsOut(
        as_of=stats.as_of,
        currency=event.currency,
        totals=TotalsOut.of(stats.totals),
        tiers=[
            TierStatsOut.model_validate(
                {k: 0 if row.get(k) is None else row[k] for k in TierStatsOut.model_fields}
            )
            for row in stats.tiers
        ],
        sales=[
            SeriesPointOut(
                at=r["hour"],
                tickets=r["tickets"] or 0,
                net=r["net"] or Decimal("0"),
                checkins=r["checkins"] or 0,
            )
            for r in stats.sales_series
        ],
        rating_count=stats.rating_count,
        rating_mean=stats.rating_mean,
    )


class TopEventOut(Schema):
    event_id: UUID
    title: str
    tickets: int
    orders: int
    net: Decimal
    currency: str
    page_views: int


class OrganizerStatsOut(Schema):
    as_of: datetime | None
    period_start: datetime
    period_end: datetime = Field(description="Exclusive")
    current: TotalsOut
    previous: TotalsOut
    checkin_rate: float | None
    booking_rate_per_hour: float
    booking_rate_trend: float | None = Field(description="Change against the previous period")
    top_events: list[TopEventOut]


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


class PeriodQuery(Schema):
    start: date | None = Field(
        default=None, alias="from", description="First day (default: 30 days ago)"
    )
    end: date | None = Field(
        default=None, alias="to", description="Last day, included (default: today)"
    )


@router.get("/organizer/stats", response=OrganizerStatsOut)
def organizer_stats_view(request: ApiRequest, query: Query[PeriodQuery]) -> OrganizerStatsOut:
    """Figures across your events for a period, with the previous period of the same length."""
    last = query.end or timezone.localdate()
    first = query.start or last - timedelta(days=29)
    if first > last or (last - first).days > 366:
        raise InvalidPeriod()
    period = Period(start=_day_start(first), end=_day_start(last + timedelta(days=1)))
    stats = organizer_stats(dashboard_events(request.auth, platform=False), period)
    return OrganizerStatsOut(
        as_of=stats.as_of,
        period_start=period.start,
        period_end=period.end,
        current=TotalsOut.of(stats.totals),
        previous=TotalsOut.of(stats.previous),
        checkin_rate=stats.checkin_rate,
        booking_rate_per_hour=stats.booking_rate,
        booking_rate_trend=stats.booking_rate_trend,
        top_events=[
            TopEventOut(**{k: row[k] for k in TopEventOut.model_fields}) for row in stats.top_events
        ],
    )
