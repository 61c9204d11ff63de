"""The audit trail's hash chain: appending a row and proving the chain intact.

Rows of one chain (one per organization, plus `global`) are appended one at a time under
`pg_advisory_xact_lock` on the chain: a transaction-scoped lock, so it is released at COMMIT or
ROLLBACK and is safe behind PgBouncer in transaction pooling (a session lock would outlive the
transaction on a pooled server connection). It is taken when the row is written, usually as the
last step of the service's transaction, so it is held only until that commit.
"""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from accounts.models import AuditEntry
from core.db import prepared_cursor
from core.testswitches import switch_on

GENESIS = "0" * 64


def address_digest(email: str) -> str:
    """What the trail keeps of an email address: rows cannot be edited later, so an address
    written there could never be erased. A digest still lets an investigator match a known one."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


# A flash sale pays thousands of orders of one organization a minute. On one chain each payment
# would wait for the previous one's COMMIT (the chain lock is held until then, and a durable
# commit is a disk flush): payments would go one at a time. High-volume rows (`spread`) are
# spread over this many chains of the organization instead, each linked and verified on its own.
LANES = 16


def chain_of(organization_id: Any, *, lane: int | None = None) -> str:
    chain = str(organization_id) if organization_id else AuditEntry.GLOBAL_CHAIN
    return chain if lane is None else f"{chain}/{lane}"


def lane_of(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % LANES


def _lock_id(chain: str) -> int:
    # A signed 64-bit key from the chain's name (pg_advisory_xact_lock takes a bigint).
    return int.from_bytes(
        hashlib.sha256(f"audit:{chain}".encode()).digest()[:8], "big", signed=True
    )


def normalised(changes: dict[str, Any]) -> Any:
    """`changes` as it reads back from jsonb (dates, decimals and UUIDs become strings)."""
    return json.loads(json.dumps(changes, cls=DjangoJSONEncoder))


def digest_of(entry: AuditEntry) -> str:
    """SHA-256 over the row's content and the previous row's digest."""
    content = {
        "chain": entry.chain,
        "seq": entry.seq,
        "created_at": entry.created_at.isoformat(),
        "actor": entry.actor_id,
        "organization": str(entry.organization_id) if entry.organization_id else None,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "changes": entry.changes,
        "ip": entry.ip,
        "prev": entry.prev_digest,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def append(entry: AuditEntry, *, spread: bool = False, once: bool = False) -> AuditEntry:
    """Link `entry` to the end of its chain and insert it (inside the caller's transaction).

    `spread`: one of the organization's LANES chains, chosen by the target, instead of its one.
    With `once`, an event that happens once per target (an order's payment) is recorded once:
    if its chain already holds a row with the same action and target, that row is returned.
    The check runs under the chain's lock (and a target always falls in the same lane), so two
    announcements racing cannot both write.
    """
    lane = lane_of(f"{entry.target_type}:{entry.target_id}") if spread else None
    entry.chain = chain_of(entry.organization_id, lane=lane)
    entry.changes = normalised(entry.changes or {})
    # No savepoint inside the caller's transaction: the row fails or commits with the change.
    with transaction.atomic(savepoint=False):
        if not switch_on("audit_chain_unlocked"):
            with prepared_cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_id(entry.chain)])
        earlier_id, last_seq, last_digest = _chain_end(entry, once=once)
        if earlier_id is not None:
            return AuditEntry.objects.get(pk=earlier_id)
        entry.seq, entry.prev_digest = (
            (last_seq + 1, last_digest) if last_seq is not None else (1, GENESIS)
        )
        entry.created_at = timezone.now()
        entry.digest = digest_of(entry)
        _insert(entry)
    return entry


# The row as `entry.save(force_insert=True)` writes it; plain SQL because a payment writes one
# and the ORM's insert costs ~0.5 ms of CPU to compile, this a tenth of that.
_INSERT = """
INSERT INTO accounts_auditentry (actor_id, organization_id, action, target_type, target_id,
                                 changes, ip, created_at, chain, seq, prev_digest, digest)
VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s::inet, %s, %s, %s, %s, %s)
RETURNING id
"""


def _insert(entry: AuditEntry) -> None:
    with prepared_cursor() as cursor:
        cursor.execute(
            _INSERT,
            [
                entry.actor_id,
                entry.organization_id,
                entry.action,
                entry.target_type,
                entry.target_id,
                json.dumps(entry.changes),
                entry.ip,
                entry.created_at,
                entry.chain,
                entry.seq,
                entry.prev_digest,
                entry.digest,
            ],
        )
        entry.pk = cursor.fetchone()[0]
    entry._state.adding = False


# One round trip for what `append` reads under the chain's lock: with `once`, a row of the same
# action and target already there, and the chain's last row.
_CHAIN_END = """
SELECT (SELECT e.id FROM accounts_auditentry e
        WHERE %(once)s AND e.chain = %(chain)s AND e.action = %(action)s
          AND e.target_type = %(target_type)s AND e.target_id = %(target_id)s
        ORDER BY e.id LIMIT 1),
       last.seq, last.digest
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (SELECT e.seq, e.digest FROM accounts_auditentry e
                   WHERE e.chain = %(chain)s ORDER BY e.seq DESC LIMIT 1) AS last ON true
"""


def _chain_end(entry: AuditEntry, *, once: bool) -> tuple[Any, Any, Any]:
    """(the earlier row's id when `once` and there is one, the last seq, the last digest)."""
    with prepared_cursor() as cursor:
        cursor.execute(
            _CHAIN_END,
            {
                "once": once,
                "chain": entry.chain,
                "action": entry.action,
                "target_type": entry.target_type,
                "target_id": entry.target_id,
            },
        )
        row = cursor.fetchone()
    return row[0], row[1], row[2]


@dataclass(frozen=True)
class Break:
    entry_id: int
    chain: str
    seq: int
    reason: str


def verify(chunk: int = 2000) -> Iterator[Break | tuple[str, int]]:
    """Walk every chain in order: yields a Break at the first bad row of a chain, and
    (chain, rows checked) for each chain that holds."""
    chains = AuditEntry.objects.order_by().values_list("chain", flat=True).distinct()
    for chain in sorted(chains):
        expected_prev, expected_seq, broken = GENESIS, 1, False
        rows = AuditEntry.objects.filter(chain=chain).order_by("seq").iterator(chunk_size=chunk)
        for row in rows:
            reason = None
            if row.seq != expected_seq:
                reason = f"sequence jumps from {expected_seq - 1} to {row.seq} (a row is missing)"
            elif row.prev_digest != expected_prev:
                reason = "does not link to the previous row"
            elif digest_of(row) != row.digest:
                reason = "content does not match its digest (the row was changed)"
            if reason:
                yield Break(row.pk, chain, row.seq, reason)
                broken = True
                break
            expected_prev, expected_seq = row.digest, row.seq + 1
        if not broken:
            yield chain, expected_seq - 1
