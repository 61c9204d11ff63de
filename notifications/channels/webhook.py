"""Organizer webhooks: a JSON body signed with HMAC-SHA256 over `<timestamp>.<body>`.

Header `Boxoffice-Signature: t=<unix seconds>,v1=<hex digest>`. A receiver recomputes the digest
with its endpoint secret, compares in constant time and rejects timestamps older than a few
minutes (replays). `Boxoffice-Event-Id` is the same on every retry of one event, so a receiver
can drop a repeat it already processed.
"""

import hashlib
import hmac
import time

import httpx
from django.conf import settings

from notifications.channels import DeliveryFailed

SIGNATURE_HEADER = "Boxoffice-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def signature_valid(secret: str, header: str, body: bytes, *, tolerance: int = 300) -> bool:
    """What a receiver does: check the digest and that the timestamp is recent."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    return hmac.compare_digest(parts.get("v1", ""), signature(secret, timestamp, body))


def webhook_post(*, url: str, secret: str, body: bytes, event_id: str, topic: str) -> int:
    """POST once; return the status code of a 2xx answer, else raise DeliveryFailed."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Boxoffice-Webhooks/1",
        SIGNATURE_HEADER: signature_header(secret, body),
        "Boxoffice-Event-Id": event_id,
        "Boxoffice-Event-Type": topic,
    }
    try:
        response = httpx.post(
            url,
            content=body,
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(
            f"Answered {response.status_code}: {response.text[:200]}", code=response.status_code
        )
    return response.status_code
