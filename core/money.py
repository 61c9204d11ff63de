"""Money as people read it: the amount in its currency's minor units, then the currency code.

`90.00 EUR`, `1,250.00 EUR`, `5,000 JPY`. Amounts are Decimals (never floats); the currency is
the event's. Templates use the `money` filter (core/templatetags/formatting.py), Python text
(emails, flash messages) `format_money`.
"""

from decimal import Decimal

# ISO 4217 currencies without the usual two decimals, among those organizers may choose.
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "ISK": 0, "HUF": 2, "CLP": 0, "BHD": 3, "KWD": 3}


def format_money(amount: Decimal | int | str, currency: str) -> str:
    """`amount` with its currency's decimals and thousands separators, then the code."""
    code = currency.upper()
    places = _MINOR_UNITS.get(code, 2)
    return f"{Decimal(amount):,.{places}f} {code}"
