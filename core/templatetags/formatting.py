"""Display filters every template has (a TEMPLATES builtin: no `{% load %}` to forget).

`{{ event.starts_at|in_zone:event|date:"D j M Y, H:i" }}`: the event's own clock time.
"""

from datetime import datetime
from typing import Any

from django import template

from core import timefmt

register = template.Library()


@register.filter(name="in_zone", expects_localtime=False)
def in_zone(value: datetime | None, where: Any) -> datetime | str:
    """`value` in the zone of `where` (an event, a zone name); empty for an empty value."""
    if value in (None, ""):
        return ""
    return timefmt.in_zone(value, where)
