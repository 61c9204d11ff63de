"""Secrets kept in the database, encrypted at rest with keys from the environment.

What is sealed here: ticket signing keys (checkin), webhook signing secrets (notifications), a
transfer's link token and an erased account's address while they wait in the outbox. A reader
of the database alone cannot open any of them: the keys are not in it.

Keys: `BOXOFFICE_ENCRYPTION_KEYS`, newest first (SECRET_KEY when unset). Each purpose gets its
own key derived from each of them (HKDF), so a value sealed for one purpose never opens as
another. Sealing uses the newest key; opening tries every key (MultiFernet), so keys rotate
without downtime:

    1. deploy with `BOXOFFICE_ENCRYPTION_KEYS=<new>,<old>`  (new values use <new>, old ones open)
    2. `manage.py secrets_reencrypt`                          (every stored value now uses <new>)
    3. deploy with `BOXOFFICE_ENCRYPTION_KEYS=<new>`          (<old> is gone)

Values sealed before this module held every purpose (signing keys derived from
BOXOFFICE_SIGNING_SECRET under their own label) still open through `LEGACY_KEYS` until step 2
has re-sealed them.
"""

import base64
from collections.abc import Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

SIGNING_KEYS = "ticket signing keys"
WEBHOOK_SECRETS = "webhook secrets"
TRANSFER_LINK = "transfer link"
ERASED_ADDRESS = "erased address"

# Purpose -> (setting holding the old secret, HKDF label it was derived under): what checkin's
# own derivation used before signing keys were sealed here.
LEGACY_KEYS: dict[str, tuple[str, str]] = {
    SIGNING_KEYS: ("BOXOFFICE_SIGNING_SECRET", "boxoffice ticket signing keys"),
}

__all__ = ["InvalidToken", "reseal", "seal", "unseal"]


def _derive(secret: str, label: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label.encode()).derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def encryption_keys() -> list[str]:
    """The configured keys, newest first."""
    keys = [k for k in getattr(settings, "BOXOFFICE_ENCRYPTION_KEYS", []) if k]
    return keys or [settings.SECRET_KEY]


@lru_cache(maxsize=32)
def _multi(keys: Sequence[str], purpose: str, legacy_secret: str) -> MultiFernet:
    fernets = [_derive(key, f"boxoffice {purpose}") for key in keys]
    if purpose in LEGACY_KEYS and legacy_secret:
        fernets.append(_derive(legacy_secret, LEGACY_KEYS[purpose][1]))
    return MultiFernet(fernets)


def fernet_for(purpose: str) -> MultiFernet:
    """Seals with the newest key of `purpose`, opens with any (the one derivation in the app)."""
    legacy = ""
    if purpose in LEGACY_KEYS:
        legacy = getattr(settings, LEGACY_KEYS[purpose][0], "") or ""
    return _multi(tuple(encryption_keys()), purpose, legacy)


def seal_bytes(plain: bytes, *, purpose: str) -> str:
    return fernet_for(purpose).encrypt(plain).decode()


def unseal_bytes(sealed: str, *, purpose: str) -> bytes:
    return fernet_for(purpose).decrypt(sealed.encode())


def seal(plain: str, *, purpose: str) -> str:
    """`plain` encrypted (and authenticated) for one `purpose`, with the newest key."""
    return seal_bytes(plain.encode(), purpose=purpose)


def unseal(sealed: str, *, purpose: str) -> str:
    """What `seal` sealed for the same `purpose`; raises InvalidToken if altered or not ours."""
    return unseal_bytes(sealed, purpose=purpose).decode()


def reseal(sealed: str, *, purpose: str) -> str:
    """`sealed` under the newest key (unchanged content); raises InvalidToken like `unseal`."""
    return fernet_for(purpose).rotate(sealed.encode()).decode()
