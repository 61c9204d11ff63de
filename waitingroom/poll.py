"""The waiting page's poll, built once for the Django view and the WSGI fast lane."""

from typing import Any

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.urls import reverse

from waitingroom import passes, queue

# Before the opening nothing changes: the early crowd is told to come back just after it,
# spread over this many seconds by their (random) places, so thousands do not ask at once.
OPENING_SPREAD_S = 30
LONGEST_POLL_S = 40
SHORTEST_POLL_S = 3


def poll_after_s(standing: queue.Standing) -> int:
    """When to ask again: half the remaining wait (so a place is seen to fall and the turn is
    seen soon after it comes), between 3 and 40 seconds, less up to a tenth so that visitors
    who asked together drift apart. The poll load then grows with the log of the queue's length,
    not with the length. The spread comes from the visitor's place, so one standing always gets
    one answer, whichever layer gives it."""
    spread = standing.rank or 0
    if standing.opens_at and not standing.open:
        until_opening = standing.opens_at - standing.now
        if until_opening > LONGEST_POLL_S:
            return LONGEST_POLL_S
        return int(max(1, until_opening)) + 1 + spread % OPENING_SPREAD_S
    wait = standing.wait_seconds()
    if wait is None:
        return 5
    after = min(LONGEST_POLL_S, max(SHORTEST_POLL_S, wait / 2))
    return max(SHORTEST_POLL_S, round(after * (0.9 + spread % 11 / 100)))


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
