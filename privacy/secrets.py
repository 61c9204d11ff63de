"""Re-sealing every secret stored in the database with the newest key (core.sealed).

Run after putting a new key first in BOXOFFICE_ENCRYPTION_KEYS; once it has run, the older keys
can be dropped. Each row is re-sealed in its own small transaction and only if it did not change
meanwhile, so it runs while the site serves traffic; running it twice changes nothing readable.
"""

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from checkin.models import SigningKey
from core.sealed import (
    ERASED_ADDRESS,
    SIGNING_KEYS,
    TRANSFER_LINK,
    WEBHOOK_SECRETS,
    reseal,
)
from notifications.models import SEALED_RECIPIENT, Delivery, Message, WebhookEndpoint

# Outbox fields that hold a sealed value, and what it was sealed for.
SEALED_MESSAGE_FIELDS = {"sealed_token": TRANSFER_LINK, "sealed_email": ERASED_ADDRESS}


@dataclass
class Resealed:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n


def secrets_reencrypt() -> dict[str, int]:
    """Re-seal signing keys, webhook secrets and sealed outbox values; counts per kind."""
    done = Resealed()
    pk: Any
    for pk, value in SigningKey.objects.values_list("pk", "private_key_encrypted").iterator():
        new = reseal(value, purpose=SIGNING_KEYS)
        done.add(
            "signing_keys",
            SigningKey.objects.filter(pk=pk, private_key_encrypted=value).update(
                private_key_encrypted=new
            ),
        )
    for pk, value in WebhookEndpoint.objects.values_list("pk", "secret_sealed").iterator():
        new = reseal(value, purpose=WEBHOOK_SECRETS)
        done.add(
            "webhook_secrets",
            WebhookEndpoint.objects.filter(pk=pk, secret_sealed=value).update(secret_sealed=new),
        )
    holds_sealed = Q()
    for name in SEALED_MESSAGE_FIELDS:
        holds_sealed |= Q(data__has_key=name)
    for pk, data in Message.objects.filter(holds_sealed).values_list("pk", "data").iterator():
        new_data = dict(data)
        for name, purpose in SEALED_MESSAGE_FIELDS.items():
            if name in new_data:
                new_data[name] = reseal(new_data[name], purpose=purpose)
        done.add("outbox_messages", Message.objects.filter(pk=pk, data=data).update(data=new_data))
    deliveries = Delivery.objects.filter(recipient__startswith=SEALED_RECIPIENT)
    for pk, recipient in deliveries.values_list("pk", "recipient").iterator():
        sealed = recipient.removeprefix(SEALED_RECIPIENT)
        new_recipient = SEALED_RECIPIENT + reseal(sealed, purpose=ERASED_ADDRESS)
        done.add(
            "outbox_recipients",
            Delivery.objects.filter(pk=pk, recipient=recipient).update(recipient=new_recipient),
        )
    return done.counts
