"""Secrets that must wait in the database for a while, encrypted with the app's key.

A transfer's link token is stored only as a hash; its email, though, waits in the outbox until
a worker sends it and must be able to build the link. The outbox keeps it sealed: a reader of
the database alone cannot open it (the key derives from SECRET_KEY, which is not in it).
"""

import base64
from functools import lru_cache

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


@lru_cache(maxsize=8)
def _fernet(secret: str, purpose: str) -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"boxoffice {purpose}".encode()
    ).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(plain: str, *, purpose: str) -> str:
    """`plain` encrypted (and authenticated) for one `purpose`."""
    return _fernet(settings.SECRET_KEY, purpose).encrypt(plain.encode()).decode()


def unseal(sealed: str, *, purpose: str) -> str:
    """What `seal` sealed for the same `purpose`; raises if it was altered or is not ours."""
    return _fernet(settings.SECRET_KEY, purpose).decrypt(sealed.encode()).decode()
