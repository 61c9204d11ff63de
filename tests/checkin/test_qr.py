"""QR codes decode, with a real decoder (zxing-cpp), to the exact signed payload."""

import io
import re

import pytest
from django.test import Client
from PIL import Image

from accounts.models import User
from checkin.signing import payload_verify
from core.qr import qr_png, qr_svg
from events.models import TicketTier
from tests.checkin.svg_raster import svg_to_image
from tests.factories import order_paid
from tests.qr import qr_texts
from ticketing.models import Ticket


def decode_svg(svg: str) -> list[str]:
    """Rasterise the SVG as a browser would fill it, then read it like a scanner."""
    buffer = io.BytesIO()
    svg_to_image(svg).save(buffer, format="PNG")
    return qr_texts(buffer.getvalue())


def test_svg_qr_decodes_to_the_exact_payload_which_verifies(ticket: Ticket) -> None:
    svg = qr_svg(ticket.qr_payload)

    assert svg.startswith("<svg")
    assert decode_svg(svg) == [ticket.qr_payload]
    claim = payload_verify(decode_svg(svg)[0])
    assert (claim.ticket_id, claim.event_id, claim.tier_id) == (
        ticket.pk,
        ticket.event_id,
        ticket.tier_id,
    )


def test_png_qr_decodes_to_the_exact_payload_which_verifies(ticket: Ticket) -> None:
    png = qr_png(ticket.qr_payload)

    assert Image.open(io.BytesIO(png)).format == "PNG"
    decoded = qr_texts(png)
    assert decoded == [ticket.qr_payload]
    assert payload_verify(decoded[0]).ticket_id == ticket.pk


def test_svg_with_half_its_modules_missing_does_not_decode(ticket: Ticket) -> None:
    """The rasteriser draws what the SVG says: damage the SVG and the decoder must fail."""
    svg = qr_svg(ticket.qr_payload)
    rects = re.findall(r"M[^M\"]*", svg)
    damaged = svg.replace("".join(rects), "".join(rects[::2]))
    assert damaged != svg

    assert decode_svg(damaged) == []


@pytest.mark.parametrize("payload", ["x", "A" * 200, "https://example.com/t/ünïcode"])
def test_qr_images_round_trip_any_text(payload: str) -> None:
    assert decode_svg(qr_svg(payload)) == [payload]
    assert qr_texts(qr_png(payload)) == [payload]


def test_my_tickets_page_shows_a_scannable_qr_code_per_ticket(
    client: Client, attendee: User, tier: TicketTier
) -> None:
    tickets = order_paid(buyer=attendee, tier=tier, quantity=2).tickets
    client.force_login(attendee)

    html = client.get("/tickets/").content.decode()

    cards = re.findall(r'data-ticket-id="([^"]+)".*?(<svg.*?</svg>)', html, flags=re.DOTALL)
    assert len(cards) == 2
    shown = {}
    for ticket_id, svg in cards:
        (payload,) = decode_svg(svg)
        assert str(payload_verify(payload).ticket_id) == ticket_id
        shown[ticket_id] = payload
    assert shown == {str(t.pk): t.qr_payload for t in tickets}
