"""SMS backends: the console one by default, a generic HTTP gateway for production.

SMS_BACKEND picks one by dotted path. The gateway backend POSTs JSON
`{"to": ..., "from": ..., "text": ..., "reference": ...}` with `Authorization: Bearer <token>`;
any JSON gateway (or a small adapter in front of a provider) can take that. The reference is the
delivery id, so a gateway that deduplicates on it never sends a retried message twice.
"""

import logging
import sys
from typing import Protocol

import httpx
from django.conf import settings
from django.utils.module_loading import import_string

from notifications.channels import DeliveryFailed

logger = logging.getLogger(__name__)


class SmsBackend(Protocol):
    def send(self, *, to: str, text: str, reference: str) -> str:
        """Send one SMS; return the gateway's id for it. Raise DeliveryFailed."""
        ...


class ConsoleSmsBackend:
    """Prints the SMS (development and demos)."""

    def send(self, *, to: str, text: str, reference: str) -> str:
        sys.stdout.write(f"SMS to {to} [{reference}]: {text}\n")
        sys.stdout.flush()
        return f"console-{reference}"


class HttpGatewaySmsBackend:
    """Any HTTP gateway that takes a JSON POST (SMS_GATEWAY_URL, SMS_GATEWAY_TOKEN)."""

    def send(self, *, to: str, text: str, reference: str) -> str:
        headers = {"Idempotency-Key": reference}
        if settings.SMS_GATEWAY_TOKEN:
            headers["Authorization"] = f"Bearer {settings.SMS_GATEWAY_TOKEN}"
        body = {"to": to, "from": settings.SMS_FROM, "text": text, "reference": reference}
        try:
            response = httpx.post(
                settings.SMS_GATEWAY_URL,
                json=body,
                headers=headers,
                timeout=settings.SMS_GATEWAY_TIMEOUT_SECONDS,
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"SMS gateway unreachable: {exc}") from exc
        if response.status_code >= 400:
            # 4xx other than 408/429 is our request being wrong: trying again will not help.
            retryable = response.status_code >= 500 or response.status_code in (408, 429)
            raise DeliveryFailed(
                f"SMS gateway answered {response.status_code}: {response.text[:200]}",
                retryable=retryable,
                code=response.status_code,
            )
        try:
            gateway_id = str(response.json().get("id", ""))
        except ValueError:
            gateway_id = ""
        return gateway_id or reference


def sms_backend() -> SmsBackend:
    backend: SmsBackend = import_string(settings.SMS_BACKEND)()
    return backend
