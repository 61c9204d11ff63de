import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from checkin.selectors import event_for_door, events_for_door
from checkin.services import ScanResult, checkin_list_default, ticket_scan
from config.http import AuthedRequest


def scan_result_json(result: ScanResult) -> dict[str, Any]:
    return {
        "valid": result.valid,
        "reason": result.reason,
        "message": result.message,
        "attendee_name": result.attendee_name,
        "tier": result.tier,
        "already_used": result.already_used,
        "first_used_at": result.first_used_at.isoformat() if result.first_used_at else None,
    }


@login_required
def door_events(request: AuthedRequest) -> HttpResponse:
    events = events_for_door(request.user)
    return render(request, "checkin/door_events.html", {"events": events})


@login_required
def scanner(request: AuthedRequest, event_id: Any) -> HttpResponse:
    """The door page. Works without JavaScript (typed code form); JS adds the camera."""
    event = event_for_door(request.user, event_id)
    checkin_list = checkin_list_default(event)
    result = None
    if request.method == "POST":
        result = ticket_scan(
            payload=request.POST.get("payload", ""),
            checkin_list=checkin_list,
            scanned_by=request.user,
            device_id="web-form",
        )
    return render(
        request,
        "checkin/scanner.html",
        {
            "event": event,
            "checkin_list": checkin_list,
            "result": result,
        },
    )


@login_required
@require_POST
def scan_json(request: AuthedRequest, event_id: Any) -> JsonResponse:
    """What the scanner page's JavaScript calls for each code it reads."""
    event = event_for_door(request.user, event_id)
    try:
        body = json.loads(request.body or b"{}")
        payload = str(body.get("payload", ""))
        device_id = str(body.get("device_id", ""))
    except (ValueError, AttributeError):
        return JsonResponse(
            {"error": {"code": "MALFORMED_JSON", "message": "Send a JSON object."}}, status=400
        )
    result = ticket_scan(
        payload=payload,
        checkin_list=checkin_list_default(event),
        scanned_by=request.user,
        device_id=device_id,
    )
    return JsonResponse(scan_result_json(result))
