"""What Boxoffice needs from a payment processor, and nothing more.

Every call carries an idempotency key derived from our own Payment row, so a retry of the same
call can never charge or refund twice. A call whose outcome is unknown (timeout, lost response)
raises ProviderUnavailable; the caller keeps the Payment pending and reconciles it later with
`find_charge`, which asks the processor what happened to that key.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol


class ProviderUnavailable(Exception):
    """The processor did not answer in time; the charge may or may not have happened."""


@dataclass(frozen=True)
class ChargeResult:
    succeeded: bool
    charge_id: str = ""
    decline_code: str = ""


@dataclass(frozen=True)
class RefundResult:
    refund_id: str
    amount: Decimal


class PaymentProvider(Protocol):
    name: str

    def charge(
        self, *, amount: Decimal, currency: str, source: str, idempotency_key: str
    ) -> ChargeResult:
        """Charge `amount`; the same `idempotency_key` never charges twice."""
        ...

    def find_charge(self, *, idempotency_key: str) -> ChargeResult | None:
        """What became of the charge made with this key; None if the processor never made it."""
        ...

    def refund(self, *, charge_id: str, amount: Decimal, idempotency_key: str) -> RefundResult:
        """Refund (part of) a charge; the same `idempotency_key` never refunds twice."""
        ...
