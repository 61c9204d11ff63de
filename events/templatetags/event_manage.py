"""The organizer's event page in tabs: one list of sections, shared by every page they lead to."""

from typing import Any

from django import template
from django.template.context import Context
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

register = template.Library()

# (key, label, URL name, other URL names that belong to the same tab)
SECTIONS = (
    ("overview", _("Overview"), "analytics:event_dashboard", ()),
    ("orders", _("Orders"), "ticketing:manage_orders", ("ticketing:policy", "waitlist:manage")),
    ("attendees", _("Attendees"), "analytics:attendees", ("analytics:attendees_bulk",)),
    ("seating", _("Seating"), "ticketing:event_seating", ()),
    ("sessions", _("Sessions"), "events:manage_sessions", ("events:manage_feedback",)),
    ("checkin", _("Check-in"), "checkin:manage", ("checkin:attendance",)),
    ("settings", _("Settings"), "events:manage_edit", ("notifications:event_reminders",)),
)


@register.simple_tag(takes_context=True)
def event_manage_tabs(context: Context, event: Any) -> dict[str, Any]:
    """The tabs for `event` and which one the current page belongs to."""
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    here = match.view_name if match else ""
    tabs, current = [], ""
    for key, label, name, related in SECTIONS:
        tabs.append({"key": key, "label": label, "url": reverse(name, args=[event.pk])})
        if here == name or here in related:
            current = key
    return {"tabs": tabs, "current": current}
