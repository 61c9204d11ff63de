"""The QR code of a ticket behind a signed link, so a confirmation mail need not carry a PNG.

Rendering a QR image costs more than everything else in a confirmation mail; most buyers open
their tickets in the app or on the site anyway. The mail links to this image instead (an
`<img>` a mail client shows inline), which is rendered on the first request and cached. The
link is signed with SECRET_KEY and names a digest of the ticket's payload: a ticket whose
payload changed (transferred, re-issued) or that is no longer valid is not shown.
"""

import hashlib
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache

from core.qr import qr_png
from notifications.paths import path_to
from ticketing.models import Ticket

SALT = "notifications.ticket-qr"
CACHE_SECONDS = 24 * 3600


def _digest(payload: str) -> str:
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def ticket_qr_url(ticket: Any) -> str:
    """Absolute URL of the ticket's QR image (works without logging in, like the mail did)."""
    token = signing.Signer(salt=SALT).sign(f"{ticket.pk}:{_digest(ticket.qr_payload)}")
    return settings.SITE_URL + path_to("notifications:ticket_qr", "token", token)


def ticket_qr_png(token: str) -> bytes | None:
    """The PNG for a signed link, or None if the link is forged or the ticket moved on."""
    try:
        ticket_id, digest = signing.Signer(salt=SALT).unsign(token).split(":", 1)
    except (signing.BadSignature, ValueError):
        return None
    payload = (
        Ticket.objects.filter(pk=ticket_id, status=Ticket.Status.VALID)
        .values_list("qr_payload", flat=True)
        .first()
    )
    if payload is None or _digest(payload) != digest:
        return None
    key = f"ticket-qr:{ticket_id}:{digest}"
    png = cache.get(key)
    if png is None:
        png = qr_png(payload)
        cache.set(key, png, CACHE_SECONDS)
    return bytes(png)
