"""The event as an iCalendar (.ics) attachment (RFC 5545), written by hand: it is ten lines.

UID is the event id, so a calendar updates the entry it already has when a change arrives
(SEQUENCE grows with every edit) and removes it on METHOD:CANCEL.
"""

from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import get_language

from events.models import Event


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space."""
    data = line.encode()
    if len(data) <= 75:
        return line
    parts: list[str] = []
    chunk = b""
    for char in line:
        encoded = char.encode()
        if len(chunk) + len(encoded) > (75 if not parts else 74):
            parts.append(chunk.decode())
            chunk = b""
        chunk += encoded
    parts.append(chunk.decode())
    return "\r\n ".join(parts)


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def event_ics(event: Event, *, cancelled: bool = False) -> bytes:
    """One VEVENT; times in UTC (every calendar shows them in the reader's own zone), the title
    in the active language (the recipient's, see notifications.content.render)."""
    venue = event.venue
    location = ", ".join(part for part in (venue.name, venue.address, venue.city) if part)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Boxoffice//Tickets//EN",
        "CALSCALE:GREGORIAN",
        f"METHOD:{'CANCEL' if cancelled else 'PUBLISH'}",
        "BEGIN:VEVENT",
        f"UID:{event.pk}@boxoffice",
        f"SEQUENCE:{int(event.updated_at.timestamp())}",
        f"DTSTAMP:{_utc(timezone.now())}",
        f"DTSTART:{_utc(event.starts_at)}",
        f"DTEND:{_utc(event.ends_at)}",
        f"SUMMARY:{_escape(event.text_in('title', get_language()))}",
        f"LOCATION:{_escape(location)}",
        f"URL:{settings.SITE_URL}{event.get_absolute_url()}",
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return ("\r\n".join(_fold(line) for line in lines) + "\r\n").encode()
