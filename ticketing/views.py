import uuid
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from checkin.qr import qr_svg
from core.errors import DomainError
from core.http import AuthedRequest
from events.selectors import published_event
from ticketing.booking import services
from ticketing.errors import SeatTaken, SoldOut
from ticketing.forms import BookingForm, PaymentForm, SeatHoldForm
from ticketing.models import Order
from ticketing.seating import services as seating
from ticketing.selectors import (
    order_of_buyer,
    seat_map_context,
    seat_plan,
    seat_states_cached,
    tickets_of,
)


@login_required
@require_POST
def book(request: AuthedRequest, event_id: Any) -> HttpResponse:
    event = published_event(event_id)
    form = BookingForm(request.POST, event=event)
    sold_out = False
    if form.is_valid():
        try:
            order = services.order_reserve(
                buyer=request.user,
                event_id=event.pk,
                items=form.items(),
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except DomainError as exc:
            sold_out = isinstance(exc, SoldOut)
            form.add_error(None, exc.detail_message)
        else:
            return redirect("ticketing:order", order_id=order.pk)
    return render(
        request,
        "events/detail.html",
        {
            "event": event,
            "tiers": event.tiers.all(),
            "form": form,
            "sold_out": sold_out,
            "idempotency_key": request.POST.get("idempotency_key", ""),
        },
        status=409 if sold_out else 422,
    )


@login_required
def order_detail(request: AuthedRequest, order_id: Any) -> HttpResponse:
    order = order_of_buyer(request.user, order_id)
    form = PaymentForm(request.POST or None)
    if request.method == "POST" and order.status == Order.Status.PENDING and form.is_valid():
        try:
            services.order_pay(
                buyer=request.user,
                order_id=order.pk,
                idempotency_key=form.cleaned_data["idempotency_key"],
                source=form.cleaned_data["card_number"],
            )
        except DomainError as exc:
            messages.error(request, exc.detail_message)
            return redirect("ticketing:order", order_id=order.pk)
        messages.success(request, "Paid. Your tickets are below and on their way by email.")
        return redirect("ticketing:my_tickets")
    return render(request, "ticketing/order.html", {"order": order, "form": form})


@login_required
def my_tickets(request: AuthedRequest) -> HttpResponse:
    tickets = [(ticket, qr_svg(ticket.qr_payload)) for ticket in tickets_of(request.user)]
    return render(request, "ticketing/my_tickets.html", {"tickets": tickets})


@csrf_exempt  # Stripe signs the body instead; there is no session to forge
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Stripe's word on a charge whose answer we may have lost."""
    from ticketing.payments.stripe import InvalidWebhook, settlement_from_event, verify_webhook

    try:
        event = verify_webhook(request.body, request.headers.get("Stripe-Signature", ""))
    except InvalidWebhook:
        return JsonResponse(
            {"error": {"code": "INVALID_SIGNATURE", "message": "Bad Stripe signature."}},
            status=400,
        )
    settlement = settlement_from_event(event)
    if settlement is not None:
        key, result = settlement
        services.payment_settle(provider_key=key, result=result)
    # 200 for events we ignore too: Stripe would otherwise retry them for days.
    return JsonResponse({"received": True})


def seats(request: HttpRequest, event_id: Any) -> HttpResponse:
    """The seat map: pick seats (or ask for the best available) and hold them."""
    event = published_event(event_id)
    plan = seat_plan(event.pk)
    if not plan.rows:
        raise Http404("This event has no assigned seating")
    status, error, selected = 200, "", set(request.POST.getlist("seat"))
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        form = SeatHoldForm(request.POST, tiers=plan.tiers)
        if form.is_valid():
            try:
                order = seating.order_reserve_seats(
                    buyer=cast(AuthedRequest, request).user,
                    event_id=event.pk,
                    idempotency_key=form.cleaned_data["idempotency_key"],
                    seat_ids=form.cleaned_data["seat"],
                    best_available=form.best_available(),
                )
            except SeatTaken as exc:
                taken = {seat["id"] for seat in exc.details.get("taken", [])}
                selected -= taken  # keep the rest of the selection
                status, error = 409, exc.detail_message + " Your other seats are still selected."
            except DomainError as exc:
                status, error = exc.status, exc.detail_message
            else:
                return redirect("ticketing:order", order_id=order.pk)
        else:
            status, error = 422, " ".join(str(e) for errors in form.errors.values() for e in errors)
    states = seat_states_cached(event.pk).states
    context = {
        "event": event,
        "seat_map": seat_map_context(plan, states, selected),
        "tiers": plan.tiers,
        "error": error,
        "idempotency_key": uuid.uuid4().hex,
    }
    return render(request, "ticketing/seats.html", context, status=status)
