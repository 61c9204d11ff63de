"""The waiting page, its tiny JSON poll, and the organizer's room page with live figures."""

import time
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core.http import AuthedRequest
from events.selectors import event_managed_by
from waitingroom import passes, poll, queue, services
from waitingroom.forms import WaitingRoomForm
from waitingroom.models import WaitingRoom


def _client_address(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", ""))


def room(request: HttpRequest, event_id: Any) -> HttpResponse:
    """Join the queue (once per account or browser) and wait; works without JavaScript.

    A visitor without a session costs no database query: the page comes from Redis (see
    `services.room_page`), and the WSGI fast lane (waitingroom/fastlane.py) runs this same view
    for them without the session and account middleware.
    """
    page = services.room_page(event_id)
    if page is None:
        raise Http404("No waiting room for this event.")
    if page["off"]:
        return redirect(page["book_url"])
    title = page["titles"].get(get_language(), page["titles"][settings.LANGUAGE_CODE])
    visitor = passes.visitor_from_token(
        event_id, request.COOKIES.get(passes.visitor_cookie(event_id))
    )
    if visitor is None or visitor not in passes.identities(request, event_id):
        if queue.hit_limit(
            bucket=f"join:{_client_address(request)}",
            limit=settings.WAITINGROOM_JOINS_PER_ADDRESS_PER_MINUTE,
        ):
            response = render(request, "waitingroom/slow_down.html", {"title": title}, status=429)
            response["Retry-After"] = "60"
            return response
        visitor = passes.visitor_of(request)
        queue.join(event_id=event_id, visitor=visitor)
    standing = queue.standing(event_id=event_id, visitor=visitor)
    status = poll.status_of(standing)
    context = {
        "title": title,
        "token_minutes": page["token_minutes"],
        "status": status,
        "status_url": reverse("waitingroom:status", kwargs={"event_id": event_id}),
        "book_url": page["book_url"],
        "opens_at": datetime.fromtimestamp(standing.opens_at, tz=UTC)
        if standing.opens_at
        else None,
    }
    response = render(request, "waitingroom/room.html", context)
    response.set_cookie(
        passes.visitor_cookie(event_id),
        passes.visitor_token(event_id, visitor),
        max_age=24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=not settings.DEBUG,
    )
    if standing.through:
        poll.with_pass(response, event_id, visitor, page["token_minutes"] * 60)
    return response


def status(request: HttpRequest, event_id: Any) -> JsonResponse:
    """Position and estimated wait: one Redis script call, no database query, no session.

    In production the WSGI fast lane (waitingroom/fastlane.py) answers it before Django runs,
    with the same `poll.status_response`.
    """
    return poll.status_response(event_id, request.COOKIES.get(passes.visitor_cookie(event_id)))


@login_required
def manage(request: AuthedRequest, event_id: Any) -> HttpResponse:
    """The organizer switches the room on or off and sets its pace; the figures update live."""
    event = event_managed_by(request.user, event_id)
    room = WaitingRoom.objects.filter(event=event).first()
    initial = {"opens_at": timezone.localtime(timezone.now()).replace(second=0, microsecond=0)}
    form = WaitingRoomForm(request.POST or None, instance=room, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.room_save(
            event=event,
            mode=data["mode"],
            pace=data["pace"],
            opens_at=data["opens_at"],
            admit_per_minute=data["admit_per_minute"],
            auto_arrivals_per_minute=data["auto_arrivals_per_minute"],
            token_minutes=data["token_minutes"],
        )
        messages.success(request, _("Waiting room saved."))
        return redirect("waitingroom:manage", event_id=event.pk)
    context = {
        "event": event,
        "room": room,
        "form": form,
        "stats_url": reverse("waitingroom:stats", kwargs={"event_id": event.pk}),
        "stats": _stats(event.pk),
    }
    return render(request, "waitingroom/manage.html", context)


def _stats(event_id: Any) -> dict[str, Any]:
    standing = queue.standing(event_id=event_id)
    return {
        "on": standing.on,
        "waiting": standing.waiting,
        "admitted": standing.admitted,
        "joined": standing.total,
        "rate_per_minute": round(standing.rate_per_s * 60, 1),
        "at": time.time(),
    }


@login_required
def stats(request: AuthedRequest, event_id: Any) -> JsonResponse:
    """Queue length and admissions so far; the page turns two readings into a live pass rate."""
    event = event_managed_by(request.user, event_id)
    get_object_or_404(WaitingRoom, event=event)
    return JsonResponse(_stats(event.pk))
