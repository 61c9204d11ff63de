"""One way to write an amount of money, in templates and in Python text."""

from decimal import Decimal

import pytest
from django.template import Context, Template

from core.money import format_money


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (Decimal("90"), "EUR", "90.00 EUR"),
        (Decimal("1250.5"), "eur", "1,250.50 EUR"),
        ("0", "USD", "0.00 USD"),
        (Decimal("5000"), "JPY", "5,000 JPY"),
        (Decimal("19.999"), "EUR", "20.00 EUR"),
    ],
)
def test_money_has_the_currencys_decimals_and_its_code(
    amount: Decimal | str, currency: str, expected: str
) -> None:
    assert format_money(amount, currency) == expected


def test_the_money_filter_writes_the_same_and_nothing_for_no_amount() -> None:
    template = Template("{{ total|money:currency }}")

    assert template.render(Context({"total": Decimal("1250"), "currency": "EUR"})) == "1,250.00 EUR"
    assert template.render(Context({"total": None, "currency": "EUR"})) == ""
