from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from checkin.qr import qr_png
from ticketing.models import Order


def email_send(
    *,
    subject: str,
    body: str,
    to: list[str],
    html: str | None = None,
    attachments: list[tuple[str, bytes, str]] | None = None,
) -> None:
    """Send one email through the configured backend (SMTP in production)."""
    message = EmailMultiAlternatives(
        subject=subject, body=body, to=to, from_email=settings.DEFAULT_FROM_EMAIL
    )
    if html:
        message.attach_alternative(html, "text/html")
    for name, content, mime in attachments or []:
        message.attach(name, content, mime)
    message.send()


def order_confirmation_send(*, order_id: str) -> None:
    """Email the buyer their tickets, each QR code attached as a PNG."""
    order = (
        Order.objects.select_related("buyer", "event", "event__venue")
        .prefetch_related("tickets__tier")
        .get(pk=order_id)
    )
    tickets = list(order.tickets.all())
    context = {
        "order": order,
        "event": order.event,
        "tickets": tickets,
        "site_url": settings.SITE_URL,
    }
    email_send(
        subject=f"Your tickets for {order.event.title}",
        body=render_to_string("notifications/order_confirmed.txt", context),
        html=render_to_string("notifications/order_confirmed.html", context),
        to=[order.buyer.email],
        attachments=[
            (f"ticket-{n}.png", qr_png(ticket.qr_payload), "image/png")
            for n, ticket in enumerate(tickets, start=1)
        ],
    )
