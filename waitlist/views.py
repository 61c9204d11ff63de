from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render

from config.errors import DomainError
from config.http import AuthedRequest
from events.selectors import published_event
from waitlist.forms import JoinForm
from waitlist.selectors import waiting_places
from waitlist.services import waitlist_join, waitlist_leave


@login_required
def event_waitlist(request: AuthedRequest, event_id: Any) -> HttpResponse:
    """Join a sold-out event's waitlist, see your place in line, or leave it."""
    event = published_event(event_id)
    form = JoinForm(request.POST or None, event=event)
    if request.method == "POST":
        try:
            if "leave" in request.POST:
                waitlist_leave(user=request.user, entry_id=request.POST["leave"])
                messages.success(request, "You left the waitlist.")
            elif form.is_valid():
                waitlist_join(
                    user=request.user, event=event, tier_id=form.cleaned_data["tier"] or None
                )
                messages.success(request, "You are on the waitlist. We will email you an offer.")
        except DomainError as exc:
            messages.error(request, exc.detail_message)
        return redirect("waitlist:event", event_id=event.pk)
    return render(
        request,
        "waitlist/event.html",
        {
            "event": event,
            "form": form,
            "places": waiting_places(request.user, event),
        },
    )
