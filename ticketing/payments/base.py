from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class ChargeResult:
    succeeded: bool
    charge_id: str = ""
    decline_code: str = ""


class PaymentProvider(Protocol):
    name: str

    def charge(
        self, *, amount: Decimal, currency: str, source: str, idempotency_key: str
    ) -> ChargeResult:
        """Charge `amount`; the same `idempotency_key` never charges twice."""
        ...
