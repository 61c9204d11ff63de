from typing import Any

from django.db.models import QuerySet

from accounts.models import User
from accounts.selectors import organizations_managed_by
from notifications.models import Delivery, Notification, WebhookEndpoint


def notifications_for(user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).order_by("-created_at")


def unread_count(user: User) -> int:
    """One COUNT over a partial index of unread rows."""
    return Notification.objects.filter(user=user, read_at=None).count()


def webhook_endpoints_managed_by(user: User) -> QuerySet[WebhookEndpoint]:
    """Endpoints of the organizations `user` manages (owners and managers)."""
    return WebhookEndpoint.objects.filter(
        organization__in=organizations_managed_by(user)
    ).select_related("organization")


def webhook_endpoint_managed_by(user: User, endpoint_id: Any) -> WebhookEndpoint:
    """One endpoint, or WebhookEndpoint.DoesNotExist (a 404) when it is not the user's."""
    return webhook_endpoints_managed_by(user).get(pk=endpoint_id)


def webhook_deliveries(endpoint: WebhookEndpoint, *, limit: int = 50) -> list[Delivery]:
    """The newest deliveries to an endpoint with their attempts (the delivery log)."""
    return list(
        Delivery.objects.filter(endpoint=endpoint)
        .select_related("message")
        .prefetch_related("log")
        .order_by("-created_at")[:limit]
    )
