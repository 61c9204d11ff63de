from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from accounts.models import User
from ticketing.models import Order, Ticket


def order_of_buyer(user: User, order_id: Any) -> Order:
    try:
        return (
            Order.objects.select_related("event", "event__venue")
            .prefetch_related("lines__tier", "tickets__tier")
            .get(pk=order_id, buyer=user)
        )
    except (Order.DoesNotExist, ValidationError, ValueError) as exc:
        raise Http404("No such order") from exc


def tickets_of(user: User) -> QuerySet[Ticket]:
    """A holder's tickets, soonest event first."""
    return (
        Ticket.objects.filter(holder=user)
        .select_related("event", "event__venue", "tier", "order")
        .order_by("event__starts_at", "issued_at", "id")
    )
