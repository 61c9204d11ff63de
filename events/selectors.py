import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum, prefetch_related_objects
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from accounts.selectors import organizations_managed_by, organizations_managed_by_sql
from core.rows import RowSelect
from events.models import Category, Event, Feedback, Room, Session, SessionStar, Venue
from events.search import card_figures
from events.signals import event_availability_read


def upcoming_events(
    *,
    category: str | None = None,
    city: str | None = None,
    start_date: date | None = None,
    end_date: date | None = None,
    query: str | None = None,
) -> QuerySet[Event]:
    """Published events that have not ended, with filters; each row knows its lowest price."""
    events = (
        Event.objects.filter(
            status=Event.Status.PUBLISHED, ends_at__gte=timezone.now(), is_test=False
        )
        .select_related("venue", "category", "organization")
        .annotate(**card_figures(timezone.now()))
        .order_by("starts_at", "id")
    )
    if category:
        events = events.filter(category__slug=category)
    if city:
        events = events.filter(venue__city__iexact=city.strip())
    if start_date:
        start = timezone.make_aware(datetime.combine(start_date, time.min))
        events = events.filter(ends_at__gte=start)
    if end_date:
        end = timezone.make_aware(datetime.combine(end_date, time.max))
        events = events.filter(starts_at__lte=end)
    if query and query.strip():
        for word in query.split()[:8]:
            events = events.filter(
                Q(title__icontains=word)
                | Q(description__icontains=word)
                | Q(venue__name__icontains=word)
                | Q(venue__city__icontains=word)
                | Q(category__name__icontains=word)
            )
    return events


def published_event(event_id: Any) -> Event:
    """A public event page's event with tiers and `has_seats` (assigned seating); drafts are
    404 to the public."""
    try:
        return (
            Event.objects.select_related("venue", "category", "organization")
            .annotate(
                has_seats=Exists(Event.objects.filter(pk=OuterRef("pk"), seats__isnull=False))
            )
            .prefetch_related("tiers")
            .exclude(status=Event.Status.DRAFT)
            .get(pk=event_id)
        )
    except (Event.DoesNotExist, ValidationError, ValueError) as exc:
        raise Http404("No such event") from exc


def events_managed_by(user: User) -> QuerySet[Event]:
    """Events of the organizations `user` owns or manages."""
    return (
        Event.objects.filter(organization__in=organizations_managed_by(user))
        .select_related("venue", "organization", "category")
        .annotate(capacity_total=Sum("tiers__capacity"), sold_total=Sum("tiers__sold_count"))
        .order_by("-starts_at")
    )


_MANAGED_EVENT = RowSelect(Event, ("venue", "organization", "category"))


def event_managed_by(user: User, event_id: Any, *, with_tiers: bool = True) -> Event:
    """One event `user` manages; any other id is a 404, never someone else's data.

    Every organizer page and each poll of a live dashboard starts here, so the read is one
    plain statement (`core.rows`), not an ORM select compiled anew each time. `with_tiers=False`
    leaves the tiers to be read when asked for (a page that never asks saves a query)."""
    try:
        pk = uuid.UUID(str(event_id))
    except ValueError as exc:
        raise Http404("No such event") from exc
    if not user.is_authenticated:
        raise Http404("No such event")
    managed, managed_params = organizations_managed_by_sql(user)
    event = _MANAGED_EVENT.one(
        f"{_MANAGED_EVENT.column('id')} = %s"
        f" AND {_MANAGED_EVENT.column('organization')} IN ({managed})",
        [pk, *managed_params],
    )
    if event is None:
        raise Http404("No such event")
    if with_tiers:
        prefetch_related_objects([event], "tiers")
    return event


def categories() -> QuerySet[Category]:
    return Category.objects.all()


def cities() -> list[str]:
    return list(
        Event.objects.filter(
            status=Event.Status.PUBLISHED, ends_at__gte=timezone.now(), is_test=False
        )
        .values_list("venue__city", flat=True)
        .distinct()
        .order_by("venue__city")
    )


def venues_managed_by(user: User) -> QuerySet[Venue]:
    """Venues of the organizations `user` owns or manages."""
    return (
        Venue.objects.filter(organization__in=organizations_managed_by(user))
        .select_related("organization")
        .order_by("name", "city", "pk")
    )


def venue_managed_by(user: User, venue_id: Any) -> Venue:
    """One venue `user` manages; any other id is a 404, never someone else's data."""
    try:
        return venues_managed_by(user).get(pk=venue_id)
    except (Venue.DoesNotExist, ValidationError, ValueError) as exc:
        raise Http404("No such venue") from exc


# --- Agenda, timetable, feedback -------------------------------------------------------------


def event_sessions(event: Event) -> list[Session]:
    """The event's sessions in time order, with rooms, tracks and speakers (two queries)."""
    return list(
        Session.objects.filter(event=event)
        .select_related("event", "room", "track")
        .prefetch_related("speakers")
        .order_by("starts_at", "room__position", "room__name", "id")
    )


def session_public(session_id: Any) -> Session:
    try:
        return (
            Session.objects.select_related("event")
            .exclude(event__status=Event.Status.DRAFT)
            .get(pk=session_id)
        )
    except (Session.DoesNotExist, ValidationError, ValueError) as exc:
        raise Http404("No such session") from exc


def starred_session_ids(user: User, event: Event) -> set[Any]:
    if not user.is_authenticated:
        return set()
    return set(
        SessionStar.objects.filter(user=user, session__event=event).values_list(
            "session_id", flat=True
        )
    )


def starred_sessions(user: User) -> list[Session]:
    """Everything on `user`'s personal agenda, all events, in time order."""
    return list(
        Session.objects.filter(stars__user=user)
        .exclude(event__status=Event.Status.DRAFT)
        .select_related("event", "event__venue", "room", "track")
        .prefetch_related("speakers")
        .order_by("starts_at", "id")
    )


def clashing_ids(sessions: list[Session]) -> set[Any]:
    """Ids of sessions that overlap another one in the list (sorted by start)."""
    clashes: set[Any] = set()
    for i, first in enumerate(sessions):
        for second in sessions[i + 1 :]:
            if second.starts_at >= first.ends_at:
                break
            clashes.update({first.pk, second.pk})
    return clashes


@dataclass
class Stars:
    stars: int
    count: int
    percent: int


def rating_distribution(event: Event) -> list[Stars]:
    """How many gave 5, 4, ... 1 stars (one query on the (event, rating) index)."""
    counts = dict(
        Feedback.objects.filter(event=event)
        .values("rating")
        .annotate(n=Count("id"))
        .values_list("rating", "n")
    )
    total = sum(counts.values()) or 1
    return [
        Stars(r, counts.get(r, 0), round(100 * counts.get(r, 0) / total)) for r in (5, 4, 3, 2, 1)
    ]


def event_comments(event: Event, limit: int = 10) -> list[Feedback]:
    """The latest visible comments with the organizer's reply."""
    return list(
        Feedback.objects.filter(event=event, hidden=False)
        .exclude(comment="")
        .select_related("author", "reply")
        .order_by("-created_at", "id")[:limit]
    )


def my_feedback(user: User, event: Event) -> Feedback | None:
    if not user.is_authenticated:
        return None
    return Feedback.objects.filter(event=event, author=user).first()


def feedback_managed_by(user: User, event: Event) -> QuerySet[Feedback]:
    """All feedback of an event `user` manages, hidden included (the event came via a selector)."""
    return (
        Feedback.objects.filter(event=event, event__organization__in=organizations_managed_by(user))
        .select_related("author", "reply")
        .order_by("-created_at", "id")
    )


def feedback_managed(user: User, feedback_id: Any) -> Feedback:
    try:
        return Feedback.objects.select_related("event", "event__organization").get(
            pk=feedback_id, event__organization__in=organizations_managed_by(user)
        )
    except (Feedback.DoesNotExist, ValidationError, ValueError) as exc:
        raise Http404("No such feedback") from exc


def venue_rooms(event: Event) -> QuerySet[Room]:
    return Room.objects.filter(venue_id=event.venue_id)


@dataclass
class TimetableDay:
    day: date
    rooms: list[Room | None]
    sessions: list[Session]  # each with .column and .row_start/.row_end for the wide layout


SLOT_MINUTES = 5


def timetable(
    event: Event, sessions: list[Session], day: date | None
) -> tuple[list[date], TimetableDay | None]:
    """The event's days and one day's grid: rooms as columns, 5-minute rows (local time)."""
    tz = event.tz
    days = sorted({timezone.localtime(s.starts_at, tz).date() for s in sessions})
    if not days:
        return [], None
    chosen = day if day in days else days[0]
    todays = [s for s in sessions if timezone.localtime(s.starts_at, tz).date() == chosen]
    rooms: list[Room | None] = []
    seen: set[Any] = set()
    for session in sorted(
        todays, key=lambda s: (s.room.position if s.room else 9999, s.room.name if s.room else "")
    ):
        key = session.room_id
        if key not in seen:
            seen.add(key)
            rooms.append(session.room)
    first = min(timezone.localtime(s.starts_at, tz) for s in todays)
    origin = first.replace(minute=first.minute - first.minute % 30, second=0, microsecond=0)
    for session in todays:
        start = timezone.localtime(session.starts_at, tz)
        end = timezone.localtime(session.ends_at, tz)
        session.column = [r.pk if r else None for r in rooms].index(session.room_id) + 2  # type: ignore[attr-defined]
        session.row_start = int((start - origin).total_seconds() // 60 // SLOT_MINUTES) + 2  # type: ignore[attr-defined]
        session.row_end = max(  # type: ignore[attr-defined]
            session.row_start + 1,  # type: ignore[attr-defined]
            int((end - origin).total_seconds() // 60 // SLOT_MINUTES) + 2,
        )
    return days, TimetableDay(day=chosen, rooms=rooms, sessions=todays)


def holds_valid_ticket(user: User, event_id: Any) -> bool:
    """Whether `user` holds a valid ticket to the event.

    Tickets are ticketing's, and ticketing sits above events: read through the reverse
    relation (Event.tickets), never by importing ticketing.
    """
    return Event.objects.filter(pk=event_id, tickets__holder=user, tickets__status="valid").exists()


def event_availability_refresh(event_id: Any) -> bool:
    """Let the listeners bring availability up to date; True if something changed."""
    responses = event_availability_read.send(sender=Event, event_id=event_id)
    return any(changed for _, changed in responses)
