import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.http import AuthedRequest
from events.selectors import event_managed_by, published_event
from ticketing.forms import PaymentForm
from waitlist.forms import JoinForm
from waitlist.models import Offer
from waitlist.selectors import open_offers_of, waiting_places, waitlist_figures
from waitlist.services import (
    offer_for,
    waitlist_join,
    waitlist_leave,
    waitlist_offer_accept,
    waitlist_offer_decline,
    waitlist_offer_next,
)


@login_required
def event_waitlist(request: AuthedRequest, event_id: Any) -> HttpResponse:
    """Join a sold-out event's waitlist, see your place in line, or leave it."""
    event = published_event(event_id)
    form = JoinForm(request.POST or None, event=event)
    if request.method == "POST":
        try:
            if "leave" in request.POST:
                waitlist_leave(user=request.user, entry_id=request.POST["leave"])
                messages.success(request, _("You left the waitlist."))
            elif form.is_valid():
                waitlist_join(
                    user=request.user, event=event, tier_id=form.cleaned_data["tier"] or None
                )
                messages.success(request, _("You are on the waitlist. We will email you an offer."))
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
            "offers": open_offers_of(request.user, event),
        },
    )


@login_required
def offer_detail(request: AuthedRequest, token: str) -> HttpResponse:
    """The one-time link of an offer: pay for the held seat, or pass it on."""
    try:
        offer = offer_for(user=request.user, token=token)
    except DomainError:
        return render(request, "waitlist/offer_missing.html", status=404)
    form = PaymentForm(request.POST or None, initial={"idempotency_key": uuid.uuid4().hex})
    if request.method == "POST":
        try:
            if "decline" in request.POST:
                waitlist_offer_decline(user=request.user, token=token)
                messages.success(request, _("You passed the ticket on to the next person."))
                return redirect("waitlist:event", event_id=offer.event_id)
            if form.is_valid():
                waitlist_offer_accept(
                    user=request.user,
                    token=token,
                    idempotency_key=form.cleaned_data["idempotency_key"],
                    source=form.cleaned_data["card_number"],
                )
                messages.success(request, _("Paid. Your ticket is below and on its way by email."))
                return redirect("ticketing:my_tickets")
        except DomainError as exc:
            form.add_error(None, exc.detail_message)
        offer.refresh_from_db()
    status = 200 if not form.errors else 409
    return render(
        request,
        "waitlist/offer.html",
        {"offer": offer, "form": form, "open": offer.status == Offer.Status.OPEN},
        status=status,
    )


@login_required
def manage_waitlist(request: AuthedRequest, event_id: Any) -> HttpResponse:
    """The organizer's view of an event's waitlists."""
    event = event_managed_by(request.user, event_id)
    return render(
        request, "waitlist/manage.html", {"event": event, "lines": waitlist_figures(event)}
    )


@login_required
@require_POST
def manage_offer_next(request: AuthedRequest, event_id: Any) -> HttpResponse:
    event = event_managed_by(request.user, event_id)
    try:
        # A missing or garbled tier is the form's mistake, not a server error.
        tier_id = uuid.UUID(request.POST.get("tier", ""))
    except ValueError:
        messages.error(request, _("Choose a ticket type."))
        return redirect("waitlist:manage", event_id=event.pk)
    try:
        made = waitlist_offer_next(actor=request.user, event_id=event.pk, tier_id=tier_id)
    except DomainError as exc:
        messages.error(request, exc.detail_message)
    else:
        messages.success(request, (_("%(made)s offer(s) sent.") % {"made": made}))
    return redirect("waitlist:manage", event_id=event.pk)
