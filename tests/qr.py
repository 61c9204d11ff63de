"""Reading QR codes back in tests, the way a scanner would (zxing-cpp)."""

import io

import zxingcpp
from PIL import Image


def qr_texts(png: bytes) -> list[str]:
    """The texts of the QR codes found in an image (PNG or any format Pillow opens)."""
    return [
        code.text
        for code in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
        if code.format == zxingcpp.BarcodeFormat.QRCode
    ]
