"""A processor that behaves like an external one, without leaving the machine.

It keeps its own ledger (SandboxCharge, SandboxRefund) with its own ids, honours idempotency
keys the way a real processor does, and answers after SANDBOX_LATENCY_MS. Test cards, as at
Stripe where Stripe has one:

    4242 4242 4242 4242   succeeds
    4000 0000 0000 0002   declined (card_declined)
    4000 0000 0000 9995   declined (insufficient_funds)
    4000 0000 0000 0119   times out: no answer, and no charge is made
    4000 0000 0000 0341   charges, then the answer is lost (the caller sees a timeout)
"""

import secrets
import time
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.db import prepared_cursor, single_statement_atomic
from ticketing.models import SandboxCharge, SandboxRefund
from ticketing.payments.base import ChargeResult, ProviderUnavailable, RefundResult

DECLINING_CARDS = {
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
}
TIMEOUT_CARD = "4000000000000119"
LOST_ANSWER_CARD = "4000000000000341"


_CHARGE = """
INSERT INTO ticketing_sandboxcharge (charge_id, idempotency_key, amount, currency, card_last4,
                                     succeeded, decline_code, created_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
"""


def _result(charge: SandboxCharge) -> ChargeResult:
    return ChargeResult(
        succeeded=charge.succeeded, charge_id=charge.charge_id, decline_code=charge.decline_code
    )


class SandboxProvider:
    name = "sandbox"

    def _wait(self) -> None:
        latency_ms = getattr(settings, "SANDBOX_LATENCY_MS", 0)
        if latency_ms:
            time.sleep(latency_ms / 1000)

    def charge(
        self, *, amount: Decimal, currency: str, source: str, idempotency_key: str
    ) -> ChargeResult:
        self._wait()
        card = "".join(ch for ch in source if ch.isdigit())
        if card == TIMEOUT_CARD:  # never reaches the ledger, so a retry times out again
            raise ProviderUnavailable("sandbox: the processor did not answer")
        decline = DECLINING_CARDS.get(card, "" if len(card) >= 12 else "invalid_number")
        try:
            with single_statement_atomic(), prepared_cursor() as cursor:
                # Plain SQL: the ORM's create() costs ~0.5 ms of CPU a payment to compile.
                charge = SandboxCharge(
                    charge_id="ch_sb_" + secrets.token_hex(12),
                    idempotency_key=idempotency_key,
                    amount=amount,
                    currency=currency,
                    card_last4=card[-4:],
                    succeeded=not decline,
                    decline_code=decline,
                    created_at=timezone.now(),
                )
                cursor.execute(
                    _CHARGE,
                    [
                        charge.charge_id,
                        charge.idempotency_key,
                        charge.amount,
                        charge.currency,
                        charge.card_last4,
                        charge.succeeded,
                        charge.decline_code,
                        charge.created_at,
                    ],
                )
        except IntegrityError:  # a retry with the same key: the first charge's answer
            charge = SandboxCharge.objects.get(idempotency_key=idempotency_key)
        if card == LOST_ANSWER_CARD:
            raise ProviderUnavailable("sandbox: charged, but the answer was lost")
        return _result(charge)

    def find_charge(self, *, idempotency_key: str) -> ChargeResult | None:
        charge = SandboxCharge.objects.filter(idempotency_key=idempotency_key).first()
        return _result(charge) if charge is not None else None

    def refund(self, *, charge_id: str, amount: Decimal, idempotency_key: str) -> RefundResult:
        self._wait()
        charge = SandboxCharge.objects.get(charge_id=charge_id, succeeded=True)
        try:
            with transaction.atomic():
                refund, _ = SandboxRefund.objects.get_or_create(
                    idempotency_key=idempotency_key,
                    defaults={
                        "refund_id": "re_sb_" + secrets.token_hex(12),
                        "charge": charge,
                        "amount": amount,
                    },
                )
        except IntegrityError:
            refund = SandboxRefund.objects.get(idempotency_key=idempotency_key)
        return RefundResult(refund_id=refund.refund_id, amount=refund.amount)
