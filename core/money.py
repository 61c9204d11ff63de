"""Money as people read it: the amount in the reader's locale with the currency's symbol."""

from decimal import Decimal

from babel.numbers import format_currency
from django.utils import translation


def money_format(amount: Decimal | int | str, currency: str, language: str | None = None) -> str:
    """`12.5, "EUR"` is `€12.50` in English and `12,50 €` in German (the active language)."""
    locale = (language or translation.get_language() or "en").replace("-", "_")
    return format_currency(Decimal(amount), currency, locale=locale)
