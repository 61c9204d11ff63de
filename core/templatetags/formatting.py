"""Display filters every template has (a TEMPLATES builtin: no `{% load %}` to forget).

`{{ event.starts_at|in_zone:event|date:"D j M Y, H:i" }}`: the event's own clock time.
`{{ order.total|money:order.currency }}`: `1,250.00 EUR`.
`{{ event|text_in_language:"title" }}`: the organizer's title in the page's language.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django import template
from django.utils.translation import get_language

from core import timefmt
from core.money import format_money

register = template.Library()


@register.filter(name="in_zone", expects_localtime=False)
def in_zone(value: datetime | None, where: Any) -> datetime | str:
    """`value` in the zone of `where` (an event, a zone name); empty for an empty value."""
    if value in (None, ""):
        return ""
    return timefmt.in_zone(value, where)


@register.filter(name="money")
def money(value: Decimal | int | str | None, currency: str) -> str:
    """`value` in `currency`, as core.money writes it; empty for an empty value."""
    if value in (None, ""):
        return ""
    return format_money(value, currency)


@register.filter(name="text_in_language")
def text_in_language(value: Any, field: str) -> str:
    """`{{ event|text_in_language:"title" }}`: a text the organizer may have written in several
    languages, in the page's language (an object with `text_in(field, language)`)."""
    return str(value.text_in(field, get_language()))
