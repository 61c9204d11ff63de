"""Secrets at rest: one derivation (core.sealed), keys from the environment, rotation without
downtime, and keys sealed by checkin's former derivation still open."""

import base64
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.core.management import call_command
from django.db import connection

from checkin.models import SigningKey
from checkin.signing import payload_verify, signing_key_create, ticket_payload_sign
from core.sealed import SIGNING_KEYS, WEBHOOK_SECRETS, seal, unseal, unseal_bytes
from events.models import Event
from notifications.models import WebhookEndpoint
from tests.factories import TicketTierFactory, UserFactory, order_paid

KEY_A, KEY_B = "key-a-" + "a" * 40, "key-b-" + "b" * 40


def test_a_value_sealed_with_a_survives_rotation_to_b_and_the_removal_of_a(settings) -> None:
    settings.BOXOFFICE_ENCRYPTION_KEYS = [KEY_A]
    sealed_a = seal("whsec_the-secret", purpose=WEBHOOK_SECRETS)

    settings.BOXOFFICE_ENCRYPTION_KEYS = [KEY_B, KEY_A]  # step 1: new key first
    assert unseal(sealed_a, purpose=WEBHOOK_SECRETS) == "whsec_the-secret"
    sealed_b = seal("whsec_new", purpose=WEBHOOK_SECRETS)

    settings.BOXOFFICE_ENCRYPTION_KEYS = [KEY_B]  # negative control: A's value needs A
    with pytest.raises(InvalidToken):
        unseal(sealed_a, purpose=WEBHOOK_SECRETS)
    assert unseal(sealed_b, purpose=WEBHOOK_SECRETS) == "whsec_new"


def test_a_value_sealed_for_one_purpose_does_not_open_as_another(settings) -> None:
    settings.BOXOFFICE_ENCRYPTION_KEYS = [KEY_A]
    sealed = seal("x", purpose=WEBHOOK_SECRETS)
    with pytest.raises(InvalidToken):
        unseal(sealed, purpose=SIGNING_KEYS)


def _column(table: str, column: str, pk: Any) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608 - test constants
        return str(cursor.fetchone()[0])


def test_reencrypt_command_moves_every_stored_secret_to_the_newest_key(
    settings, event: Event
) -> None:
    settings.BOXOFFICE_ENCRYPTION_KEYS = [KEY_A]
    tier = TicketTierFactory.create(event=event)
    ticket = order_paid(buyer=UserFactory.create(), tier=tier).tickets[0]
    endpoint = WebhookEndpoint.objects.create(
        organization=event.organization, url="https://hooks.example.org/in", topics=[]
    )
    secret = endpoint.secret
    assert secret.startswith("whsec_")
    assert secret not in _column("notifications_webhookendpoint", "secret_sealed", endpoint.pk)

    settings.BOXOFFICE_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    call_command("secrets_reencrypt", stdout=open("/dev/null", "w"))  # noqa: SIM115
    settings.BOXOFFICE_ENCRYPTION_KEYS = [KEY_B]  # A is gone

    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == secret
    key = SigningKey.objects.get(event=event, is_current=True)
    again = ticket_payload_sign(ticket, key=key)  # the private key opens with B alone
    assert payload_verify(again).ticket_id == ticket.pk


def _legacy_seal(raw: bytes, secret: str) -> str:
    """How checkin sealed private keys before core.sealed held every purpose."""
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"boxoffice ticket signing keys"
    ).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(derived)).encrypt(raw).decode()


def test_a_signing_key_sealed_the_old_way_still_signs_and_is_resealed(
    settings, event: Event
) -> None:
    settings.BOXOFFICE_SIGNING_SECRET = "the-old-signing-secret"
    settings.BOXOFFICE_ENCRYPTION_KEYS = [KEY_A]
    private = Ed25519PrivateKey.generate()
    raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    key = signing_key_create(event_id=event.pk)
    SigningKey.objects.filter(pk=key.pk).update(
        private_key_encrypted=_legacy_seal(raw, "the-old-signing-secret"),
        public_key=private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        ),
    )
    ticket = order_paid(
        buyer=UserFactory.create(), tier=TicketTierFactory.create(event=event)
    ).tickets[0]
    key.refresh_from_db()
    assert payload_verify(ticket_payload_sign(ticket, key=key)).ticket_id == ticket.pk

    call_command("secrets_reencrypt", stdout=open("/dev/null", "w"))  # noqa: SIM115
    settings.BOXOFFICE_SIGNING_SECRET = ""  # the old secret is no longer needed
    key.refresh_from_db()
    assert unseal_bytes(key.private_key_encrypted, purpose=SIGNING_KEYS) == raw
