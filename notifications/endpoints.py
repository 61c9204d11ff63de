"""Organizer webhook endpoints: create, change, switch on and off, send a test."""

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from accounts.services import audit_record
from notifications.errors import InvalidWebhook
from notifications.models import (
    WEBHOOK_TOPICS,
    Audience,
    Topic,
    WebhookEndpoint,
    new_webhook_secret,
)
from notifications.services import message_record


def _validate(url: str, topics: list[str]) -> None:
    parts = urlsplit(url)
    allowed = {"https"} | ({"http"} if settings.WEBHOOK_ALLOW_HTTP else set())
    if parts.scheme not in allowed or not parts.hostname:
        raise InvalidWebhook(
            "The URL must start with https://."
            if not settings.WEBHOOK_ALLOW_HTTP
            else "The URL must start with http:// or https://."
        )
    if not topics:
        raise InvalidWebhook(_("Choose at least one event type."))
    unknown = set(topics) - {str(t) for t in WEBHOOK_TOPICS}
    if unknown:
        raise InvalidWebhook(
            _("Unknown event types: %(types)s.") % {"types": ", ".join(sorted(unknown))}
        )


@transaction.atomic(durable=True)
def webhook_endpoint_create(
    *, actor: User, organization: Organization, url: str, topics: list[str], description: str = ""
) -> WebhookEndpoint:
    """A new active endpoint with a fresh signing secret."""
    url = url.strip()
    _validate(url, topics)
    endpoint = WebhookEndpoint.objects.create(
        organization=organization,
        url=url,
        topics=sorted(set(topics)),
        description=description.strip()[:200],
    )
    audit_record(
        actor=actor,
        action="webhook.create",
        target=endpoint,
        organization=organization,
        changes={"url": url, "topics": endpoint.topics},
    )
    return endpoint


@transaction.atomic(durable=True)
def webhook_endpoint_update(
    *,
    actor: User,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    topics: list[str] | None = None,
    description: str | None = None,
    is_active: bool | None = None,
    rotate_secret: bool = False,
) -> WebhookEndpoint:
    """Change an endpoint; switching it on again clears its failure count."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    changes: dict[str, Any] = {}
    new_url = endpoint.url if url is None else url.strip()
    new_topics = endpoint.topics if topics is None else sorted(set(topics))
    _validate(new_url, new_topics)
    if new_url != endpoint.url:
        changes["url"] = [endpoint.url, new_url]
    if new_topics != endpoint.topics:
        changes["topics"] = [endpoint.topics, new_topics]
    endpoint.url, endpoint.topics = new_url, new_topics
    if description is not None:
        endpoint.description = description.strip()[:200]
    if is_active is not None and is_active != endpoint.is_active:
        changes["is_active"] = [endpoint.is_active, is_active]
        endpoint.is_active = is_active
        if is_active:
            endpoint.consecutive_failures, endpoint.disabled_reason = 0, ""
        else:
            endpoint.disabled_reason = "Switched off by an organizer."
    if rotate_secret:
        endpoint.secret = new_webhook_secret()
        changes["secret_rotated"] = True
    endpoint.save()
    audit_record(
        actor=actor,
        action="webhook.update",
        target=endpoint,
        organization=endpoint.organization,
        changes=changes,
    )
    return endpoint


@transaction.atomic(durable=True)
def webhook_endpoint_delete(*, actor: User, endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint and its delivery log."""
    audit_record(
        actor=actor,
        action="webhook.delete",
        target=endpoint,
        organization=endpoint.organization,
        changes={"url": endpoint.url},
    )
    endpoint.delete()


@transaction.atomic(durable=True)
def webhook_endpoint_test(*, actor: User, endpoint: WebhookEndpoint) -> None:
    """Queue a signed `webhook.test` delivery to this endpoint (the "send test" button)."""
    import uuid

    message_record(
        topic=Topic.WEBHOOK_TEST,
        audience=Audience.ENDPOINT,
        dedupe_key=f"webhook.test:{endpoint.pk}:{uuid.uuid4()}",
        organization_id=endpoint.organization_id,
        endpoint_id=endpoint.pk,
    )
    audit_record(
        actor=actor, action="webhook.test", target=endpoint, organization=endpoint.organization
    )
