"""Pages after the sale: refunds, transfers, the organizer's policy, orders and cancellation."""

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.db import row_or_raise
from core.errors import DomainError
from core.http import AuthedRequest
from core.money import format_money
from events.selectors import event_managed_by
from ticketing.aftersale import cancellation, refunds, transfers
from ticketing.aftersale.forms import KeyedForm, PolicyForm, TransferForm
from ticketing.models import Order, Refund, RefundJob, Ticket, Transfer


def _own_ticket(request: AuthedRequest, ticket_id: Any) -> Ticket:
    return row_or_raise(
        Ticket.objects.select_related("event", "order"),
        Http404("No such ticket"),
        pk=ticket_id,
        holder=request.user,
    )


@login_required
@require_POST
def ticket_refund(request: AuthedRequest, ticket_id: Any) -> HttpResponse:
    """Self-service refund of one ticket, within the organizer's policy."""
    ticket = _own_ticket(request, ticket_id)
    form = KeyedForm(request.POST)
    key = form.data.get("idempotency_key") or uuid.uuid4().hex
    try:
        refund = refunds.order_refund(
            actor=request.user,
            order_id=ticket.order_id,
            ticket_ids=[ticket.pk],
            idempotency_key=key,
        )
    except DomainError as exc:
        messages.error(request, exc.detail_message)
    else:
        messages.success(
            request,
            (
                _("Refunded: %(amount)s goes back to your card.")
                % {"amount": format_money(refund.amount, refund.currency)}
            ),
        )
    return redirect("ticketing:my_tickets")


@login_required
@require_POST
def ticket_transfer(request: AuthedRequest, ticket_id: Any) -> HttpResponse:
    ticket = _own_ticket(request, ticket_id)
    form = TransferForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a valid email address to send the ticket to."))
        return redirect("ticketing:my_tickets")
    try:
        transfers.ticket_transfer_send(
            sender=request.user, ticket_id=ticket.pk, to_email=form.cleaned_data["email"]
        )
    except DomainError as exc:
        messages.error(request, exc.detail_message)
    else:
        messages.success(
            request,
            (
                _("Sent to %(email)s. Your ticket works until they accept it.")
                % {"email": form.cleaned_data["email"]}
            ),
        )
    return redirect("ticketing:transfers")


@login_required
def transfer_list(request: AuthedRequest) -> HttpResponse:
    """Transfers you sent and received: the history."""
    if request.method == "POST":
        try:
            transfers.ticket_transfer_cancel(
                sender=request.user, transfer_id=request.POST.get("cancel", "")
            )
        except DomainError as exc:
            messages.error(request, exc.detail_message)
        else:
            messages.success(request, _("Transfer cancelled; the ticket stays yours."))
        return redirect("ticketing:transfers")
    sent = Transfer.objects.filter(sender=request.user).select_related(
        "ticket__event", "ticket__tier", "recipient"
    )
    received = Transfer.objects.filter(recipient=request.user).select_related(
        "ticket__event", "ticket__tier", "sender"
    )
    return render(request, "ticketing/transfers.html", {"sent": sent, "received": received})


def transfer_accept(request: HttpRequest, token: str) -> HttpResponse:
    """A recipient's link: sign up or log in, then accept the ticket."""
    try:
        transfer = transfers.transfer_by_token(token)
    except DomainError as exc:
        raise Http404("No such transfer") from exc
    error = ""
    if request.method == "POST" and request.user.is_authenticated:
        try:
            transfers.ticket_transfer_accept(recipient=request.user, token=token)
        except DomainError as exc:
            error = exc.detail_message
        else:
            messages.success(request, _("The ticket is yours: its new QR code is below."))
            return redirect("ticketing:my_tickets")
    return render(
        request,
        "ticketing/transfer_accept.html",
        {"transfer": transfer, "error": error, "next": request.get_full_path()},
        status=409 if error else 200,
    )


@login_required
def manage_policy(request: AuthedRequest, event_id: Any) -> HttpResponse:
    """The organizer's refund, transfer and waitlist-offer rules for one event."""
    event = event_managed_by(request.user, event_id)
    policy = refunds.policy_for(event)
    form = PolicyForm(request.POST or None, instance=policy)
    if request.method == "POST" and form.is_valid():
        refunds.event_policy_save(actor=request.user, policy=form.save(commit=False))
        messages.success(request, _("Saved."))
        return redirect("ticketing:policy", event_id=event.pk)
    return render(
        request,
        "ticketing/manage_policy.html",
        {"event": event, "form": form},
        status=422 if form.errors else 200,
    )


@login_required
def manage_orders(request: AuthedRequest, event_id: Any) -> HttpResponse:
    """The organizer's orders of an event: refund any, or cancel the event and refund all."""
    event = event_managed_by(request.user, event_id)
    if request.method == "POST":
        try:
            if "cancel_event" in request.POST:
                cancellation.event_cancel_with_refunds(actor=request.user, event_id=event.pk)
                messages.success(
                    request, _("The event is cancelled; every order is being refunded.")
                )
            else:
                refund = refunds.order_refund(
                    actor=request.user,
                    order_id=request.POST.get("order", ""),
                    idempotency_key=request.POST.get("idempotency_key") or uuid.uuid4().hex,
                    as_organizer=True,
                    reason=Refund.Reason.ORGANIZER,
                )
                messages.success(
                    request,
                    (
                        _("Refunded %(amount)s.")
                        % {"amount": format_money(refund.amount, refund.currency)}
                    ),
                )
        except DomainError as exc:
            messages.error(request, exc.detail_message)
        return redirect("ticketing:manage_orders", event_id=event.pk)
    orders = (
        Order.objects.filter(event=event, status=Order.Status.PAID)
        .select_related("buyer")
        .prefetch_related("refunds")
        .order_by("-paid_at")[:200]
    )
    job = RefundJob.objects.filter(event=event).first()
    return render(
        request,
        "ticketing/manage_orders.html",
        {"event": event, "orders": orders, "job": job, "key": uuid.uuid4().hex},
    )
