from datetime import datetime
from typing import Any
from uuid import UUID

from django.http import Http404
from ninja import Router, Schema
from pydantic import Field

from checkin.errors import InvalidPayload
from checkin.models import CheckinList
from checkin.selectors import event_for_door
from checkin.services import checkin_list_default, ticket_scan
from checkin.signing import payload_decode
from config.api import bearer
from config.http import ApiRequest

router = Router(tags=["check-in"], auth=bearer)


class ScanIn(Schema):
    payload: str = Field(min_length=1, max_length=1000)
    list_id: UUID | None = None
    device_id: str = Field(default="", max_length=64)
    scanned_at: datetime | None = None


class ScanOut(Schema):
    valid: bool
    reason: str
    message: str
    attendee_name: str
    tier: str
    already_used: bool
    first_used_at: datetime | None


def _checkin_list(user: Any, body: ScanIn) -> CheckinList:
    """The list to scan against; any event the user may not scan for is a 404."""
    if body.list_id is not None:
        checkin_list = CheckinList.objects.select_related("event").filter(pk=body.list_id).first()
        if checkin_list is None:
            raise Http404
        event_for_door(user, checkin_list.event_id)
        return checkin_list
    # Without a list, the payload names the event; its signature is checked by the scan.
    claim, _, _ = payload_decode(body.payload)
    return checkin_list_default(event_for_door(user, claim.event_id))


@router.post("/scan", response=ScanOut)
def scan(request: ApiRequest, body: ScanIn) -> ScanOut:
    user = request.auth
    try:
        checkin_list = _checkin_list(user, body)
    except InvalidPayload as exc:
        return ScanOut(
            valid=False,
            reason=exc.reason,
            message=exc.detail_message,
            attendee_name="",
            tier="",
            already_used=False,
            first_used_at=None,
        )
    result = ticket_scan(
        payload=body.payload,
        checkin_list=checkin_list,
        scanned_by=user,
        device_id=body.device_id,
        scanned_at=body.scanned_at,
    )
    return ScanOut(
        valid=result.valid,
        reason=result.reason,
        message=result.message,
        attendee_name=result.attendee_name,
        tier=result.tier,
        already_used=result.already_used,
        first_used_at=result.first_used_at,
    )
