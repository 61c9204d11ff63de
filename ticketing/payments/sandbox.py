"""A processor that behaves like an external one, without leaving the machine.

It keeps its own ledger (SandboxCharge) with its own charge ids and honours idempotency keys the
way a real processor does. Test cards, as at Stripe:

    4242 4242 4242 4242   succeeds
    4000 0000 0000 0002   declined (card_declined)
    4000 0000 0000 9995   declined (insufficient_funds)
"""

import secrets
from decimal import Decimal

from django.db import IntegrityError, transaction

from ticketing.models import SandboxCharge
from ticketing.payments.base import ChargeResult

DECLINING_CARDS = {
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
}


class SandboxProvider:
    name = "sandbox"

    def charge(
        self, *, amount: Decimal, currency: str, source: str, idempotency_key: str
    ) -> ChargeResult:
        card = "".join(ch for ch in source if ch.isdigit())
        existing = SandboxCharge.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            decline = DECLINING_CARDS.get(card, "" if len(card) >= 12 else "invalid_number")
            try:
                with transaction.atomic():
                    existing = SandboxCharge.objects.create(
                        charge_id="ch_sb_" + secrets.token_hex(12),
                        idempotency_key=idempotency_key,
                        amount=amount,
                        currency=currency,
                        card_last4=card[-4:],
                        succeeded=not decline,
                        decline_code=decline,
                    )
            except IntegrityError:  # a concurrent retry with the same key won the insert
                existing = SandboxCharge.objects.get(idempotency_key=idempotency_key)
        return ChargeResult(
            succeeded=existing.succeeded,
            charge_id=existing.charge_id,
            decline_code=existing.decline_code,
        )
