"""QR images of ticket payloads: SVG for pages, PNG for email."""

import io

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M


def _code(payload: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4, box_size=10)
    code.add_data(payload)
    code.make(fit=True)
    return code


def qr_svg(payload: str) -> str:
    """An inline <svg> element (no XML declaration) that scales with its container."""
    image = _code(payload).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    svg = image.to_string(encoding="unicode").split("?>", 1)[-1].strip()
    # Several codes share a page; the path's fixed id would repeat.
    return svg.replace(' id="qr-path"', "")


def qr_png(payload: str) -> bytes:
    buffer = io.BytesIO()
    _code(payload).make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    return buffer.getvalue()
