"""Event times as the people at the event read them: in the event's own time zone.

Datetimes are stored in UTC. Django's `date` template filter converts an aware datetime to the
*current* time zone (UTC here) before formatting, so a datetime merely converted with
`timezone.localtime(...)` is shown as UTC clock time again. `in_zone` returns a datetime pinned
to the zone (the `date` filter leaves it alone); templates use it through the `in_zone` filter
(core/templatetags/timefmt.py), emails, PDFs and other Python text through `local_time`.
"""

import zoneinfo
from datetime import datetime, tzinfo
from typing import Any

from django.templatetags.tz import do_timezone
from django.utils import dateformat
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext, gettext_noop

# `Sat 6 Dec 2026, 19:00 CET`; a format is looked up in the active language's catalogue, so
# German reads `Sa, 6. Dez 2026, 19:00 CET` (a format without a translation stays as it is).
DEFAULT_FORMAT = gettext_noop("D j M Y, H:i T")


def zone_of(where: Any) -> tzinfo:
    """A zone from a zone name, a tzinfo, or anything with a `time_zone` name (an event)."""
    if isinstance(where, tzinfo):
        return where
    name = where if isinstance(where, str) else where.time_zone
    return zoneinfo.ZoneInfo(name)


def in_zone(moment: datetime | str, where: Any) -> datetime:
    """`moment` in the zone of `where`, pinned there so that templates do not convert it back."""
    value = parse_datetime(moment) if isinstance(moment, str) else moment
    if value is None:
        raise ValueError(f"Not a date and time: {moment!r}")
    pinned: datetime = do_timezone(value, zone_of(where))
    return pinned


def local_time(moment: datetime | str, where: Any, fmt: str = DEFAULT_FORMAT) -> str:
    """`moment` formatted (Django date format) in the zone of `where`: the event's own clock."""
    return dateformat.format(in_zone(moment, where), gettext(fmt))
