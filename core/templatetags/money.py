from decimal import Decimal

from django import template

from core.money import money_format

register = template.Library()


@register.filter
def money(amount: Decimal | int | str | None, currency: str) -> str:
    """`{{ order.total|money:order.currency }}`, in the page's language."""
    if amount is None or amount == "":
        return ""
    return money_format(amount, currency)
