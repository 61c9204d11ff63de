from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from django.http import Http404
from ninja import Router, Schema
from pydantic import Field

from accounts.api_auth import bearer
from checkin.errors import SCAN_MESSAGES, InvalidPayload
from checkin.models import CheckinList
from checkin.selectors import checkin_bundle, checkin_list_of_event, event_for_door
from checkin.services import (
    OfflineScan,
    ScanResult,
    checkin_list_default,
    scans_sync,
    ticket_scan,
)
from checkin.signing import payload_decode
from core.http import ApiRequest

router = Router(tags=["check-in"], auth=bearer)


class ScanIn(Schema):
    payload: str = Field(min_length=1, max_length=1000)
    list_id: UUID | None = None
    device_id: str = Field(default="", max_length=64)
    scanned_at: datetime | None = None
    direction: Literal["in", "out"] = "in"


class ScanOut(Schema):
    valid: bool
    reason: str = Field(description="`ok`, `exit`, or why not: see checkin/README.md")
    message: str
    attendee_name: str
    tier: str
    already_used: bool
    first_used_at: datetime | None
    scan_id: str
    direction: str


class OfflineScanIn(Schema):
    client_scan_id: UUID
    payload: str = Field(min_length=1, max_length=1000)
    scanned_at: datetime
    direction: Literal["in", "out"] = "in"
    local_result: str = Field(default="", max_length=15)


class SyncIn(Schema):
    list_id: UUID
    device_id: str = Field(default="", max_length=64)
    scans: list[OfflineScanIn] = Field(max_length=1000)


class SyncedScan(ScanOut):
    client_scan_id: str
    conflict: bool
    duplicate: bool


class SyncOut(Schema):
    results: list[SyncedScan]


def _out(result: ScanResult) -> ScanOut:
    return ScanOut(
        valid=result.valid,
        reason=result.reason,
        message=result.message,
        attendee_name=result.attendee_name,
        tier=result.tier,
        already_used=result.already_used,
        first_used_at=result.first_used_at,
        scan_id=result.scan_id,
        direction=result.direction,
    )


def _door_list(user: Any, list_id: UUID) -> CheckinList:
    event_id = CheckinList.objects.filter(pk=list_id).values_list("event_id", flat=True).first()
    if event_id is None:
        raise Http404
    return checkin_list_of_event(event_for_door(user, event_id), list_id)


@router.post("/scan", response=ScanOut)
def scan(request: ApiRequest, body: ScanIn) -> ScanOut:
    """Scan one ticket at a list's gate. Every attempt is logged; `reason` says why not."""
    if body.list_id is not None:
        # The hot path: the service checks the list and the user's access in its one read.
        list_ref: Any = body.list_id
    else:
        # Without a list, the payload names the event (its signature is checked by the scan).
        try:
            claim, _, _ = payload_decode(body.payload)
        except InvalidPayload as exc:
            return ScanOut(
                valid=False,
                reason=exc.reason,
                message=str(SCAN_MESSAGES[exc.reason]),
                attendee_name="",
                tier="",
                already_used=False,
                first_used_at=None,
                scan_id="",
                direction=body.direction,
            )
        list_ref = checkin_list_default(event_for_door(request.auth, claim.event_id))
    return _out(
        ticket_scan(
            payload=body.payload,
            checkin_list=list_ref,
            scanned_by=request.auth,
            device_id=body.device_id,
            scanned_at=body.scanned_at,
            direction=body.direction,
        )
    )


@router.get("/lists/{list_id}/bundle")
def bundle(request: ApiRequest, list_id: UUID) -> dict[str, Any]:
    """Everything a scanner needs to check tickets offline for one list."""
    return checkin_bundle(_door_list(request.auth, list_id))


@router.post("/sync", response=SyncOut)
def sync(request: ApiRequest, body: SyncIn) -> SyncOut:
    """Upload scans made offline; idempotent by `client_scan_id`, earliest scan wins."""
    checkin_list = _door_list(request.auth, body.list_id)
    results = scans_sync(
        checkin_list=checkin_list,
        scans=[OfflineScan(**s.dict()) for s in body.scans],
        scanned_by=request.auth,
        device_id=body.device_id,
    )
    return SyncOut(
        results=[
            SyncedScan(
                **_out(result).dict(),
                client_scan_id=client_id,
                conflict=result.conflict,
                duplicate=bool(result.extra.get("duplicate")),
            )
            for client_id, result in results.items()
        ]
    )
