from datetime import date, datetime, time
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Min, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from accounts.selectors import organizations_managed_by
from events.models import Category, Event, Venue


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
        Event.objects.filter(status=Event.Status.PUBLISHED, ends_at__gte=timezone.now())
        .select_related("venue", "category", "organization")
        .annotate(min_price=Min("tiers__price"))
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
    """A public event page's event with tiers; drafts are 404 to the public."""
    try:
        return (
            Event.objects.select_related("venue", "category", "organization")
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


def event_managed_by(user: User, event_id: Any) -> Event:
    """One event `user` manages; any other id is a 404, never someone else's data."""
    try:
        return (
            Event.objects.filter(organization__in=organizations_managed_by(user))
            .select_related("venue", "organization", "category")
            .prefetch_related("tiers")
            .get(pk=event_id)
        )
    except (Event.DoesNotExist, ValidationError, ValueError) as exc:
        raise Http404("No such event") from exc


def categories() -> QuerySet[Category]:
    return Category.objects.all()


def cities() -> list[str]:
    return list(
        Event.objects.filter(status=Event.Status.PUBLISHED, ends_at__gte=timezone.now())
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
