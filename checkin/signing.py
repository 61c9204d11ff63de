"""Signed ticket payloads (format in checkin/README.md).

    payload = base64url(version:1 | kid:4 | event:16 | ticket:16 | tier:16 | issued_at:4 | sig:64)

The signature (Ed25519, the event's key) covers everything before it. Private keys are stored
sealed (core.sealed: keys from the environment, rotatable); the public half is plain so
scanners can verify offline.
"""

import base64
import binascii
import secrets
import struct
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.db import connection, transaction

from checkin.errors import InvalidPayload
from checkin.models import SigningKey
from core.rows import RowSelect
from core.sealed import SIGNING_KEYS, seal_bytes, unseal_bytes

VERSION = 1
SEATED_VERSION = 2  # the header, then the seat label (length byte + UTF-8), then the signature
_HEADER = struct.Struct(">B4s16s16s16sI")
SIGNATURE_BYTES = 64
PAYLOAD_BYTES = _HEADER.size + SIGNATURE_BYTES
MAX_SEAT_LABEL_BYTES = 60


@dataclass(frozen=True)
class TicketClaim:
    kid: str
    event_id: uuid.UUID
    ticket_id: uuid.UUID
    tier_id: uuid.UUID
    issued_at: int
    seat: str = ""  # "Balcony C-14" on an assigned seat (version 2), else ""


def signing_key_create(*, event_id: Any) -> SigningKey:
    """A new current key for the event; an earlier current key keeps verifying (rotation)."""
    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    with transaction.atomic():
        SigningKey.objects.filter(event_id=event_id, is_current=True).update(is_current=False)
        return SigningKey.objects.create(
            kid=secrets.token_hex(4),
            event_id=event_id,
            public_key=private.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            ),
            private_key_encrypted=seal_bytes(raw_private, purpose=SIGNING_KEYS),
        )


_KEYS = RowSelect(SigningKey)


def current_signing_key(event_id: Any) -> SigningKey:
    """The event's current key, made on its first ticket."""
    # Every payment asks. The ORM's filter().first() costs ~0.5 ms of CPU to compile and
    # materialise; the same statement as plain SQL ~0.07 ms (one current key per event).
    key = _KEYS.one(f"{_KEYS.column('event')} = %s AND {_KEYS.column('is_current')}", [event_id])
    if key is not None:
        return key
    # The first tickets of an event are often issued by many requests at once: creators wait
    # for each other on one lock per event (racing on the unique index instead deadlocked).
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"signing-key:{event_id}"]
        )
        key = SigningKey.objects.filter(event_id=event_id, is_current=True).first()
        return key if key is not None else signing_key_create(event_id=event_id)


@lru_cache(maxsize=1024)
def _private_key(kid: str, encrypted: str) -> Ed25519PrivateKey:
    raw = unseal_bytes(encrypted, purpose=SIGNING_KEYS)
    return Ed25519PrivateKey.from_private_bytes(raw)


def ticket_payload_sign(
    ticket: Any,
    *,
    key: SigningKey | None = None,
    issued_at: int | None = None,
    seat_label: str | None = None,
) -> str:
    """The QR payload for a ticket (any object with id, event_id, tier_id).

    Pass the event's `key` when signing many tickets, to look it up once. A ticket on a seat
    carries its label, signed, so a door shows it even offline; pass `seat_label` when the
    ticket's seat is not loaded.
    """
    key = key or current_signing_key(ticket.event_id)
    if seat_label is None and getattr(ticket, "seat_id", None):
        seat_label = ticket.seat.label
    seat = (seat_label or "").encode()[:MAX_SEAT_LABEL_BYTES]
    header = _HEADER.pack(
        SEATED_VERSION if seat else VERSION,
        bytes.fromhex(key.kid),
        uuid.UUID(str(ticket.event_id)).bytes,
        uuid.UUID(str(ticket.id)).bytes,
        uuid.UUID(str(ticket.tier_id)).bytes,
        issued_at if issued_at is not None else int(time.time()),
    )
    if seat:
        header += bytes([len(seat)]) + seat
    signature = _private_key(key.kid, key.private_key_encrypted).sign(header)
    return base64.urlsafe_b64encode(header + signature).rstrip(b"=").decode()


def payload_decode(payload: str) -> tuple[TicketClaim, bytes, bytes]:
    """Split a payload into its claim, signed bytes and signature, or raise InvalidPayload."""
    text = (payload or "").strip()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidPayload("malformed") from exc
    malformed = InvalidPayload("malformed")
    seat = b""
    if len(raw) == PAYLOAD_BYTES and raw[0] == VERSION:
        signed_bytes = _HEADER.size
    elif len(raw) > PAYLOAD_BYTES + 1 and raw[0] == SEATED_VERSION:
        seat_length = raw[_HEADER.size]
        signed_bytes = _HEADER.size + 1 + seat_length
        if not 0 < seat_length <= MAX_SEAT_LABEL_BYTES or len(raw) != signed_bytes + 64:
            raise malformed
        seat = raw[_HEADER.size + 1 : signed_bytes]
    else:
        raise malformed
    header, signature = raw[:signed_bytes], raw[signed_bytes:]
    _, kid, event, ticket, tier, issued_at = _HEADER.unpack(header[: _HEADER.size])
    claim = TicketClaim(
        kid=kid.hex(),
        event_id=uuid.UUID(bytes=event),
        ticket_id=uuid.UUID(bytes=ticket),
        tier_id=uuid.UUID(bytes=tier),
        issued_at=issued_at,
        seat=seat.decode(errors="replace"),
    )
    return claim, header, signature


@lru_cache(maxsize=1024)
def _public_key(kid: str, raw: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(raw)


def signature_valid(kid: str, public_key: bytes, header: bytes, signature: bytes) -> bool:
    """Whether `signature` is the key's over `header` (the parsed key is kept per process)."""
    try:
        _public_key(kid, public_key).verify(signature, header)
    except (InvalidSignature, ValueError):
        return False
    return True


def public_key_b64(key: SigningKey) -> str:
    return base64.urlsafe_b64encode(bytes(key.public_key)).rstrip(b"=").decode()


def payload_verify(payload: str) -> TicketClaim:
    """The claim of a genuine payload; InvalidPayload with a reason otherwise."""
    claim, header, signature = payload_decode(payload)
    key = (
        SigningKey.objects.filter(kid=claim.kid)
        .only("event_id", "public_key", "revoked_at")
        .first()
    )
    if key is None:
        raise InvalidPayload("unknown_key")
    if key.revoked_at is not None:
        raise InvalidPayload("revoked_key")
    if key.event_id != claim.event_id:
        raise InvalidPayload("invalid_signature")
    if not signature_valid(claim.kid, bytes(key.public_key), header, signature):
        raise InvalidPayload("invalid_signature")
    return claim


class TicketPayloadSigner:
    """What ticketing calls to sign the tickets it issues (registered in CheckinConfig.ready)."""

    def key_for(self, event_id: Any) -> SigningKey:
        return current_signing_key(event_id)

    def sign(self, ticket: Any, *, key: Any, seat_label: str | None) -> str:
        return ticket_payload_sign(ticket, key=key, seat_label=seat_label)
