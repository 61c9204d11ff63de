"""The waiting page's poll, built once for the Django view and the WSGI fast lane."""

from typing import Any

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.urls import reverse

from waitingroom import passes, queue


def poll_after_s(standing: queue.Standing) -> int:
    """Far back, poll rarely; near the front, often: the poll load stays flat."""
    wait = standing.wait_seconds()
    if wait is None:
        return 5
    return int(min(30, max(2, wait // 10)))


def status_of(standing: queue.Standing) -> dict[str, Any]:
    if standing.rank is None:
        state = "not_in_queue"
    elif not standing.open:
        state = "before_opening"
    elif standing.through:
        state = "your_turn"
    else:
        state = "waiting"
    return {
        "state": state,
        "position": standing.position,
        "estimated_wait_s": standing.wait_seconds(),
        "waiting": standing.waiting,
        "opens_at": standing.opens_at or None,
        "poll_after_s": poll_after_s(standing),
    }


def with_pass(response: HttpResponse, event_id: Any, visitor: str, token_s: int) -> str:
    token = passes.pass_issue(event_id, visitor)
    response.set_cookie(
        passes.pass_cookie(event_id),
        token,
        max_age=token_s,
        httponly=True,
        samesite="Lax",
        secure=not settings.DEBUG,
    )
    return token


def status_response(event_id: Any, visitor_token: str | None) -> JsonResponse:
    """The poll's answer for the visitor cookie `visitor_token`: Redis only, no session."""
    visitor = passes.visitor_from_token(event_id, visitor_token)
    if visitor is None:
        return JsonResponse(
            {"error": {"code": "NOT_IN_QUEUE", "message": "Open the waiting page first."}},
            status=404,
        )
    standing = queue.standing(event_id=event_id, visitor=visitor)
    body = status_of(standing)
    response = JsonResponse(body)
    if standing.through:
        room_settings = queue.room_settings(event_id=event_id) or {"token_s": 900}
        body["pass"] = with_pass(response, event_id, visitor, room_settings["token_s"])
        body["next"] = reverse("events:detail", kwargs={"event_id": event_id})
        response.content = JsonResponse(body).content
    response["Cache-Control"] = "no-store"
    return response
