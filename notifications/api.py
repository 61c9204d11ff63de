"""Notifications API: a person's notification centre and settings; organizers' webhooks."""

from datetime import datetime
from typing import Any
from uuid import UUID

from django.http import Http404
from ninja import Router, Schema
from pydantic import Field

from accounts.api_auth import bearer
from accounts.selectors import organizations_managed_by
from core.http import ApiRequest
from notifications import endpoints, preferences, selectors
from notifications.models import Notification, WebhookEndpoint

router = Router(tags=["notifications"], auth=bearer)


class NotificationOut(Schema):
    id: UUID
    title: str
    body: str
    url: str
    created_at: datetime
    read: bool


class NotificationPage(Schema):
    unread: int
    items: list[NotificationOut]


def _notification(n: Notification) -> NotificationOut:
    return NotificationOut(
        id=n.pk,
        title=n.title,
        body=n.body,
        url=n.url,
        created_at=n.created_at,
        read=n.read_at is not None,
    )


@router.get("/notifications", response=NotificationPage)
def list_notifications(request: ApiRequest, limit: int = 50) -> NotificationPage:
    items = selectors.notifications_for(request.auth)[: max(1, min(limit, 200))]
    return NotificationPage(
        unread=selectors.unread_count(request.auth), items=[_notification(n) for n in items]
    )


@router.post("/notifications/{notification_id}/read", response=NotificationOut)
def read_notification(request: ApiRequest, notification_id: UUID) -> NotificationOut:
    try:
        notification = preferences.notification_open(
            user=request.auth, notification_id=notification_id
        )
    except Notification.DoesNotExist as exc:
        raise Http404 from exc
    notification.refresh_from_db()
    return _notification(notification)


class PreferencesIO(Schema):
    phone: str = Field("", max_length=40)
    reminder_email: bool = True
    reminder_sms: bool = False
    reminder_inapp: bool = True
    update_email: bool = True
    update_sms: bool = False
    update_inapp: bool = True
    marketing_email: bool = False
    marketing_sms: bool = False
    marketing_inapp: bool = False


def _preferences_out(preference: Any) -> PreferencesIO:
    return PreferencesIO(
        phone=preference.phone,
        **{name: getattr(preference, name) for name in preferences.CHOICE_FIELDS},
    )


@router.get("/notifications/preferences", response=PreferencesIO)
def get_preferences(request: ApiRequest) -> PreferencesIO:
    return _preferences_out(preferences.preference_for(request.auth))


@router.put("/notifications/preferences", response=PreferencesIO)
def put_preferences(request: ApiRequest, body: PreferencesIO) -> PreferencesIO:
    data = body.dict()
    phone = data.pop("phone")
    return _preferences_out(preferences.preference_update(user=request.auth, phone=phone, **data))


class WebhookIn(Schema):
    organization_id: UUID
    url: str = Field(..., max_length=500)
    topics: list[str]
    description: str = Field("", max_length=200)


class WebhookOut(Schema):
    id: UUID
    organization_id: UUID
    url: str
    topics: list[str]
    description: str
    is_active: bool
    consecutive_failures: int
    secret: str


class AttemptOut(Schema):
    number: int
    succeeded: bool
    response_code: int | None
    error: str
    at: datetime


class WebhookDeliveryOut(Schema):
    id: UUID
    event_id: UUID = Field(..., description="Boxoffice-Event-Id: the same on every retry")
    type: str
    status: str
    attempts: list[AttemptOut]


def _webhook(e: WebhookEndpoint) -> WebhookOut:
    return WebhookOut(
        id=e.pk,
        organization_id=e.organization_id,
        url=e.url,
        topics=e.topics,
        description=e.description,
        is_active=e.is_active,
        consecutive_failures=e.consecutive_failures,
        secret=e.secret,
    )


def _endpoint(request: ApiRequest, endpoint_id: UUID) -> WebhookEndpoint:
    try:
        return selectors.webhook_endpoint_managed_by(request.auth, endpoint_id)
    except WebhookEndpoint.DoesNotExist as exc:
        raise Http404 from exc


@router.get("/webhooks", response=list[WebhookOut])
def list_webhooks(request: ApiRequest) -> list[WebhookOut]:
    return [_webhook(e) for e in selectors.webhook_endpoints_managed_by(request.auth)]


@router.post("/webhooks", response={201: WebhookOut})
def create_webhook(request: ApiRequest, body: WebhookIn) -> WebhookOut:
    organization = organizations_managed_by(request.auth).filter(pk=body.organization_id).first()
    if organization is None:
        raise Http404
    endpoint = endpoints.webhook_endpoint_create(
        actor=request.auth,
        organization=organization,
        url=body.url,
        topics=body.topics,
        description=body.description,
    )
    return _webhook(endpoint)


@router.post("/webhooks/{endpoint_id}/test", response={202: dict})
def test_webhook(request: ApiRequest, endpoint_id: UUID) -> dict[str, str]:
    endpoints.webhook_endpoint_test(actor=request.auth, endpoint=_endpoint(request, endpoint_id))
    return {"status": "queued"}


@router.delete("/webhooks/{endpoint_id}", response={204: None})
def delete_webhook(request: ApiRequest, endpoint_id: UUID) -> None:
    endpoints.webhook_endpoint_delete(actor=request.auth, endpoint=_endpoint(request, endpoint_id))
    return None


@router.get("/webhooks/{endpoint_id}/deliveries", response=list[WebhookDeliveryOut])
def webhook_log(request: ApiRequest, endpoint_id: UUID) -> list[WebhookDeliveryOut]:
    return [
        WebhookDeliveryOut(
            id=d.pk,
            event_id=d.message_id,
            type=d.message.topic,
            status=d.status,
            attempts=[
                AttemptOut(
                    number=a.number,
                    succeeded=a.succeeded,
                    response_code=a.response_code,
                    error=a.error,
                    at=a.at,
                )
                for a in d.log.all()
            ],
        )
        for d in selectors.webhook_deliveries(_endpoint(request, endpoint_id))
    ]
