import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from checkin.errors import InvalidPayload
from checkin.models import Admission, CheckinList, Scan
from checkin.signing import payload_verify
from events.models import Event
from ticketing.models import Ticket


@dataclass(frozen=True)
class ScanResult:
    valid: bool
    reason: str
    message: str
    already_used: bool = False
    first_used_at: datetime | None = None
    attendee_name: str = ""
    tier: str = ""
    ticket_id: str = ""


def checkin_list_default(event: Event) -> CheckinList:
    """The event's first check-in list, creating "Main entrance" (all tiers) if it has none."""
    existing = event.checkin_lists.order_by("created_at").first()
    if existing is not None:
        return existing
    checkin_list, _ = CheckinList.objects.get_or_create(event=event, name="Main entrance")
    return checkin_list


def _admit_once(
    ticket: Ticket, checkin_list: CheckinList, scan_id: uuid.UUID, at: datetime
) -> datetime | None:
    """One atomic INSERT … ON CONFLICT: the admission time if this scan admitted the ticket.

    The scan row is written after this; the foreign key is checked at commit (Django creates
    PostgreSQL foreign keys DEFERRABLE INITIALLY DEFERRED), so the log never has to be edited.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {Admission._meta.db_table}
                    (ticket_id, checkin_list_id, scan_id, admitted_at)
                VALUES (%s, %s, %s, %s)
                ON CONFLICT (ticket_id, checkin_list_id) DO NOTHING
                RETURNING admitted_at""",  # noqa: S608 - table name from model metadata
            [ticket.pk, checkin_list.pk, scan_id, at],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _reject(checkin_list: CheckinList, reason: str, message: str, **scan: Any) -> ScanResult:
    Scan.objects.create(
        checkin_list=checkin_list, result=Scan.Result.REJECTED, reason=reason, **scan
    )
    return ScanResult(valid=False, reason=reason, message=message)


@transaction.atomic(durable=True)
def ticket_scan(
    *,
    payload: str,
    checkin_list: CheckinList,
    scanned_by: User | None,
    device_id: str = "",
    scanned_at: datetime | None = None,
) -> ScanResult:
    """Check a scanned QR payload at a list's gate, admit it at most once, log every attempt."""
    scan_fields: dict[str, Any] = {
        # PostgreSQL text cannot hold NUL and a scanner may read one: drop it, still log the try.
        "device_id": device_id.replace("\x00", "")[:64],
        "scanned_by": scanned_by if scanned_by is not None and scanned_by.pk else None,
        "scanned_at": scanned_at or timezone.now(),
        "payload_excerpt": (payload or "").replace("\x00", "")[:64],
    }
    try:
        claim = payload_verify(payload)
    except InvalidPayload as exc:
        return _reject(checkin_list, exc.reason, exc.detail_message, **scan_fields)
    if claim.event_id != checkin_list.event_id:
        return _reject(
            checkin_list, "wrong_event", "This ticket is for another event.", **scan_fields
        )
    ticket = Ticket.objects.select_related("tier").filter(pk=claim.ticket_id).first()
    if ticket is None:
        return _reject(checkin_list, "unknown_ticket", "No such ticket.", **scan_fields)
    scan_fields["ticket"] = ticket
    if ticket.status != Ticket.Status.VALID:
        return _reject(
            checkin_list, "revoked", "This ticket was cancelled or refunded.", **scan_fields
        )
    allowed = set(checkin_list.tiers.values_list("pk", flat=True))
    if allowed and ticket.tier_id not in allowed:
        return _reject(
            checkin_list,
            "tier_not_allowed",
            f"{ticket.tier.name} tickets are not admitted here.",
            **scan_fields,
        )
    scan_id = uuid.uuid4()
    admitted_at = _admit_once(ticket, checkin_list, scan_id, scan_fields["scanned_at"])
    details: dict[str, Any] = {
        "attendee_name": ticket.attendee_name,
        "tier": ticket.tier.name,
        "ticket_id": str(ticket.pk),
    }
    if admitted_at is not None:
        Scan.objects.create(
            id=scan_id,
            checkin_list=checkin_list,
            result=Scan.Result.ADMITTED,
            reason="ok",
            **scan_fields,
        )
        return ScanResult(valid=True, reason="ok", message="Admitted", **details)
    Scan.objects.create(
        id=scan_id,
        checkin_list=checkin_list,
        result=Scan.Result.ALREADY_USED,
        reason="already_used",
        **scan_fields,
    )
    first = Admission.objects.get(ticket=ticket, checkin_list=checkin_list).admitted_at
    local = timezone.localtime(first, checkin_list.event.tz)
    return ScanResult(
        valid=False,
        reason="already_used",
        already_used=True,
        first_used_at=first,
        message=f"Already used at {local:%H:%M}",
        **details,
    )
