from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from accounts.selectors import organizations_with_door_access
from events.models import Event


def events_for_door(user: User) -> QuerySet[Event]:
    """Published events, not yet over, of the organizations `user` may scan for."""
    return (
        Event.objects.filter(
            organization__in=organizations_with_door_access(user),
            status=Event.Status.PUBLISHED,
            ends_at__gte=timezone.now() - timedelta(hours=12),
        )
        .select_related("venue")
        .order_by("starts_at")
    )


def event_for_door(user: User, event_id: Any) -> Event:
    try:
        return events_for_door(user).get(pk=event_id)
    except (Event.DoesNotExist, ValidationError, ValueError) as exc:
        raise Http404("No such event") from exc
