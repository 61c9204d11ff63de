"""Money as people read it, in the reader's language.

English: the amount in its currency's minor units, then the currency code: `90.00 EUR`,
`1,250.00 EUR`, `5,000 JPY`. Other languages follow their locale (Babel's CLDR data):
German `1.250,00 €`. Amounts are Decimals (never floats); the currency is the event's.
Templates use the `money` filter (core/templatetags/formatting.py), Python text (emails, flash
messages, PDFs) `format_money`; both follow the active language.
"""

from decimal import Decimal

from babel.numbers import format_currency
from django.utils import translation

# ISO 4217 currencies without the usual two decimals, among those organizers may choose.
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "ISK": 0, "HUF": 2, "CLP": 0, "BHD": 3, "KWD": 3}


def format_money(amount: Decimal | int | str, currency: str, language: str | None = None) -> str:
    """`amount` in `currency` as `language` (default: the active one) writes it."""
    code = currency.upper()
    language = language or translation.get_language() or "en"
    if language.startswith("en"):
        places = _MINOR_UNITS.get(code, 2)
        return f"{Decimal(amount):,.{places}f} {code}"
    return format_currency(Decimal(amount), code, locale=language.replace("-", "_"))
