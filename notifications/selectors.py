import functools
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from accounts.models import User
from accounts.selectors import organizations_managed_by
from notifications.models import Delivery, Notification, WebhookEndpoint


def notifications_for(user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).order_by("-created_at")


@functools.cache
def _unread_sql() -> str:
    quote = connection.ops.quote_name
    meta = Notification._meta
    user, read_at = (quote(str(meta.get_field(name).column)) for name in ("user", "read_at"))  # type: ignore[union-attr]
    return f"SELECT count(*) FROM {quote(meta.db_table)} WHERE {user} = %s AND {read_at} IS NULL"  # noqa: S608 - names quoted


def unread_count(user: User) -> int:
    """One COUNT over a partial index of unread rows.

    Every signed-in page shows it: as plain SQL it costs ~0.1 ms of CPU, the ORM's count()
    ~0.4 ms to compile."""
    with connection.cursor() as cursor:
        cursor.execute(_unread_sql(), [user.pk])
        row = cursor.fetchone()
    return int(row[0]) if row else 0


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
