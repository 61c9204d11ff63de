from collections.abc import Iterable

from django import template

from events.models import TicketTier

register = template.Library()


@register.filter
def public_tiers(tiers: Iterable[TicketTier]) -> list[TicketTier]:
    """The tiers anyone may see: not those sold only with a voucher code that names them."""
    return [tier for tier in tiers if not tier.requires_voucher]


@register.filter
def any_available(tiers: Iterable[TicketTier]) -> bool:
    """Whether any of these tiers has a ticket left (else the page offers the waitlist)."""
    return any(tier.available for tier in tiers)
