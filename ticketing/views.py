import logging
import uuid
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.http import AuthedRequest
from core.qr import qr_svg
from events.questions import answers_deadline, answers_editable, event_questions
from events.selectors import published_event
from ticketing.aftersale.answers import order_answers_change
from ticketing.booking import services
from ticketing.errors import SeatTaken, SoldOut
from ticketing.forms import (
    BookingForm,
    PaymentForm,
    SeatHoldForm,
    TicketAnswersForm,
    VoucherApplyForm,
)
from ticketing.models import Order, Ticket
from ticketing.seating import services as seating
from ticketing.selectors import (
    checkout_tickets,
    order_of_buyer,
    order_redemption,
    seat_map_context,
    seat_plan,
    seat_states_cached,
    tickets_of,
)
from waitingroom.services import queue_pass_missing

logger = logging.getLogger(__name__)


@login_required
@require_POST
def book(request: AuthedRequest, event_id: Any) -> HttpResponse:
    event = published_event(event_id)
    if queue_pass_missing(request, event.pk):
        return redirect("waitingroom:room", event_id=event.pk)
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
    tiers = list(event.tiers.all())
    return render(
        request,
        "events/detail.html",
        {
            "event": event,
            "tiers": tiers,
            "form": form,
            "sold_out": sold_out,
            # Turned away with some left (fewer than asked for): say so, not "sold out".
            "some_left": sold_out and any(tier.available for tier in tiers),
            "idempotency_key": request.POST.get("idempotency_key", ""),
        },
        status=409 if sold_out else 422,
    )


@login_required
def order_detail(request: AuthedRequest, order_id: Any) -> HttpResponse:
    """Checkout while the order is held (names, voucher, card); its summary once paid."""
    order = order_of_buyer(request.user, order_id)
    plan = checkout_tickets(order)
    pending = order.status == Order.Status.PENDING
    applying = "apply_voucher" in request.POST
    answering = request.method == "POST" and "save_answers" in request.POST
    paying = request.method == "POST" and pending and not applying and not answering
    questions = event_questions(order.event_id)
    form = PaymentForm(request.POST if paying else None, tickets=plan, questions=questions)
    voucher_form = VoucherApplyForm(request.POST if applying else None)
    answers_form = None
    if order.status == Order.Status.PAID:
        answers_form = TicketAnswersForm(
            request.POST if answering else None,
            tickets=[t for t in order.tickets.all() if t.status == Ticket.Status.VALID],
            questions=questions,
        )
    status = 200
    if answering and answers_form is not None:
        if answers_form.is_valid():
            try:
                order_answers_change(
                    buyer=request.user, order_id=order.pk, answers=answers_form.answers()
                )
            except DomainError as exc:
                answers_form.add_error(None, exc.detail_message)
                status = exc.status
            else:
                messages.success(request, _("Answers saved."))
                return redirect("ticketing:order", order_id=order.pk)
        else:
            status = 422
    elif request.method == "POST" and pending and voucher_form.is_bound:
        if voucher_form.is_valid():
            try:
                services.order_voucher_apply(
                    buyer=request.user, order_id=order.pk, code=voucher_form.cleaned_data["voucher"]
                )
            except DomainError as exc:
                voucher_form.add_error("voucher", exc.detail_message)
            else:
                messages.success(request, _("Voucher applied."))
                return redirect("ticketing:order", order_id=order.pk)
        status = 422
    elif request.method == "POST" and pending and form.is_valid():
        try:
            services.order_attendees_set(
                buyer=request.user,
                order_id=order.pk,
                names=form.attendee_names(),
                answers=form.attendee_answers(),
            )
            services.order_pay(
                buyer=request.user,
                order_id=order.pk,
                idempotency_key=form.cleaned_data["idempotency_key"],
                source=form.cleaned_data["card_number"],
            )
        except DomainError as exc:  # declined, lapsed: the order page as it is now says so
            messages.error(request, exc.detail_message)
            return redirect("ticketing:order", order_id=order.pk)
        else:
            messages.success(request, _("Paid. Your tickets are below and on their way by email."))
            return redirect("ticketing:order", order_id=order.pk)
    elif form.is_bound:
        status = 422
    order = order_of_buyer(request.user, order_id)  # as it is now (a voucher, a lapse)
    context = {
        "order": order,
        "form": form,
        "answers_form": answers_form,
        "answers_deadline": answers_deadline(order.event),
        "answers_editable": answers_editable(order.event),
        "voucher_form": voucher_form,
        "redemption": order_redemption(order),
        "payment_provider": settings.PAYMENT_PROVIDER,
    }
    return render(request, "ticketing/order.html", context, status=status)


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
    except ImproperlyConfigured as e:
        # 503 rather than 500: Stripe keeps retrying, so no event is lost once the secret is set.
        logger.error("Stripe webhook refused: %s", e)
        return JsonResponse(
            {"error": {"code": "WEBHOOK_NOT_CONFIGURED", "message": str(e)}}, status=503
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
                    voucher=form.cleaned_data["voucher"],
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
        "voucher": request.POST.get("voucher", "")[:40],
    }
    return render(request, "ticketing/seats.html", context, status=status)
