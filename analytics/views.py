from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from analytics.selectors import event_figures
from core.http import AuthedRequest
from events.selectors import event_managed_by


@login_required
def event_dashboard(request: AuthedRequest, event_id: Any) -> HttpResponse:
    """Live sales, revenue and check-in figures of one event the user manages."""
    event = event_managed_by(request.user, event_id)
    return render(
        request, "analytics/event_dashboard.html", {"event": event, "figures": event_figures(event)}
    )
