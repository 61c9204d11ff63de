"""How an event leaves the building: sanitised Markdown, iCalendar files and schema.org JSON-LD."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import nh3
from django.conf import settings
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from icalendar import Calendar
from icalendar import Event as ICalEvent
from markdown_it import MarkdownIt

from events.models import Event, Session

# Raw HTML in the source is not passed through; whatever Markdown makes is then cleaned by nh3
# (ammonia), so neither an organizer nor a bug in the renderer can put script on the page.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
ALLOWED_TAGS = {
    "p", "br", "strong", "em", "a", "ul", "ol", "li", "blockquote", "code", "pre", "h2", "h3",
    "h4", "hr", "table", "thead", "tbody", "tr", "th", "td", "del",
}  # fmt: skip


def markdown_html(source: str) -> SafeString:
    """Markdown to HTML that is safe to put on the page (links get rel=nofollow noopener)."""
    rendered = _markdown.render(source or "")
    cleaned = nh3.clean(
        rendered,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )
    return mark_safe(cleaned)  # noqa: S308 - sanitised by nh3 just above


def absolute(path: str) -> str:
    return settings.SITE_URL + path


def _ical_event(uid: str, summary: str, start: datetime, end: datetime, **extra: Any) -> ICalEvent:
    item = ICalEvent()
    item.add("uid", uid)
    item.add("summary", summary)
    item.add("dtstart", start)
    item.add("dtend", end)
    item.add("dtstamp", timezone.now())
    for key, value in extra.items():
        if value:
            item.add(key.replace("_", "-"), value)
    return item


def _calendar(name: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", "-//Boxoffice//Events//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", name)
    return calendar


def event_ics(event: Event, *, language: str | None) -> bytes:
    """One VEVENT for the event (times in UTC, which every calendar converts), its texts in
    `language` where the organizer wrote them."""
    title = event.text_in("title", language)
    calendar = _calendar(title)
    calendar.add_component(
        _ical_event(
            f"event-{event.pk}@boxoffice",
            title,
            event.starts_at,
            event.ends_at,
            location=f"{event.venue.name}, {event.venue.address} {event.venue.city}".strip(),
            url=absolute(event.get_absolute_url()),
            description=event.text_in("description", language)[:2000],
            status="CANCELLED" if event.status == Event.Status.CANCELLED else "CONFIRMED",
        )
    )
    return calendar.to_ical()


def sessions_ics(name: str, sessions: Iterable[Session], *, language: str | None) -> bytes:
    """A feed of sessions: an event's agenda or someone's starred sessions; event titles in
    `language` where the organizer wrote them."""
    calendar = _calendar(name)
    for session in sessions:
        speakers = ", ".join(s.name for s in session.speakers.all())
        where = session.room.name if session.room else ""
        location = f"{where}, {session.event.venue.name}" if where else session.event.venue.name
        calendar.add_component(
            _ical_event(
                f"session-{session.pk}@boxoffice",
                f"{session.title} ({session.event.text_in('title', language)})",
                session.starts_at,
                session.ends_at,
                location=location,
                description=(
                    (_("Speakers: %(names)s") % {"names": speakers} + "\n\n" if speakers else "")
                    + session.description
                ),
                url=absolute(session.event.get_absolute_url()),
            )
        )
    return calendar.to_ical()


def event_json_ld(
    event: Event, tiers: Iterable[Any], sessions: Iterable[Session], *, language: str | None
) -> SafeString:
    """schema.org Event for search engines, safe inside <script type="application/ld+json">;
    its name and description in `language` where the organizer wrote them."""
    venue = event.venue
    place: dict[str, Any] = {
        "@type": "Place",
        "name": venue.name,
        "address": {
            "@type": "PostalAddress",
            "streetAddress": venue.address,
            "addressLocality": venue.city,
            "addressCountry": venue.country or None,
        },
    }
    if venue.latitude is not None and venue.longitude is not None:
        place["geo"] = {
            "@type": "GeoCoordinates",
            "latitude": venue.latitude,
            "longitude": venue.longitude,
        }
    url = absolute(event.get_absolute_url())
    organizer: dict[str, Any] = {"@type": "Organization", "name": event.organization.name}
    logo = event.organization.logo_picture
    if logo is not None:
        organizer["logo"] = logo.src if "://" in logo.src else absolute(logo.src)
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Event",
        "name": event.text_in("title", language),
        "description": event.text_in("description", language)[:500],
        "startDate": event.local_starts_at.isoformat(),
        "endDate": event.local_ends_at.isoformat(),
        "eventStatus": "https://schema.org/EventCancelled"
        if event.status == Event.Status.CANCELLED
        else "https://schema.org/EventScheduled",
        "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
        "location": place,
        "organizer": organizer,
        "url": url,
        "offers": [
            {
                "@type": "Offer",
                "name": tier.name,
                "price": str(tier.price),
                "priceCurrency": event.currency,
                "availability": "https://schema.org/InStock"
                if tier.available
                else "https://schema.org/SoldOut",
                "url": url,
            }
            for tier in tiers
        ],
    }
    performers = [p.strip() for p in event.performers.split(",") if p.strip()]
    speakers = {s.name for session in sessions for s in session.speakers.all()}
    names = performers + sorted(speakers - set(performers))
    if names:
        data["performer"] = [{"@type": "Person", "name": n} for n in names[:50]]
    if event.rating_count:
        data["aggregateRating"] = {
            "@type": "AggregateRating",
            "ratingValue": event.rating_average,
            "ratingCount": event.rating_count,
            "bestRating": 5,
            "worstRating": 1,
        }
    text = json.dumps(data, ensure_ascii=False)
    # "</script>" or "<!--" inside a title must not end the script element early.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return mark_safe(text)  # noqa: S308 - JSON with <, > and & escaped
