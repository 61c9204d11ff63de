"""Rasterise the QR codes our pages show, so a test decodes the SVG itself, not a re-render.

Handles what an SVG path of axis-aligned shapes needs: M/m, H/h, V/v, L/l (axis-aligned only) and
Z/z, with the nonzero fill rule, inside the viewBox. Anything else fails loudly.
"""

import re
import xml.etree.ElementTree as ET

from PIL import Image

SVG_NS = "{http://www.w3.org/2000/svg}"
TOKEN = re.compile(r"[MmHhVvLlZz]|-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")

Edge = tuple[float, float, float, float]  # x, y_top, y_bottom, winding direction


def _vertical_edges(d: str) -> list[Edge]:
    tokens = TOKEN.findall(d)
    edges: list[Edge] = []
    x = y = start_x = start_y = 0.0
    i = 0

    def number() -> float:
        nonlocal i
        value = float(tokens[i])
        i += 1
        return value

    def line_to(nx: float, ny: float) -> None:
        nonlocal x, y
        if nx != x and ny != y:
            raise ValueError(f"diagonal path segment ({x},{y})->({nx},{ny}) is not supported")
        if nx == x and ny != y:
            edges.append((x, min(y, ny), max(y, ny), 1.0 if ny > y else -1.0))
        x, y = nx, ny

    command = ""
    while i < len(tokens):
        if tokens[i].isalpha():
            command = tokens[i]
            i += 1
        if command in "Mm":
            nx, ny = number(), number()
            if command == "m":
                nx, ny = x + nx, y + ny
            x, y = start_x, start_y = nx, ny
            command = "L" if command == "M" else "l"  # further pairs are line-tos
        elif command == "H":
            line_to(number(), y)
        elif command == "h":
            line_to(x + number(), y)
        elif command == "V":
            line_to(x, number())
        elif command == "v":
            line_to(x, y + number())
        elif command == "L":
            line_to(number(), number())
        elif command == "l":
            line_to(x + number(), y + number())
        elif command in "Zz":
            line_to(start_x, start_y)
        else:
            raise ValueError(f"unsupported path command {command!r}")
    return edges


def svg_to_image(svg: str, pixels_per_unit: int = 8) -> Image.Image:
    """A greyscale image of the SVG's filled paths on white, `pixels_per_unit` per user unit."""
    root = ET.fromstring(svg)  # noqa: S314 - our own markup
    min_x, min_y, width, height = (float(v) for v in root.attrib["viewBox"].split())
    paths = list(root.iter(f"{SVG_NS}path"))
    if not paths:
        raise ValueError("no <path> in the SVG")
    edges: list[Edge] = []
    for path in paths:
        if path.get("fill", "#000000") in {"none", "transparent"}:
            continue
        edges.extend(_vertical_edges(path.attrib["d"]))
    # Sample two points per user unit, at the centres of half-unit cells (nonzero rule).
    samples = 2
    cols, rows = round(width * samples), round(height * samples)
    image = Image.new("L", (cols, rows), 255)
    pixels = image.load()
    assert pixels is not None
    for row in range(rows):
        sy = min_y + (row + 0.5) / samples
        crossings = sorted(
            (ex, direction) for ex, top, bottom, direction in edges if top <= sy < bottom
        )
        winding, k = 0.0, 0
        for col in range(cols):  # sweep left to right, adding each edge crossed
            sx = min_x + (col + 0.5) / samples
            while k < len(crossings) and crossings[k][0] <= sx:
                winding += crossings[k][1]
                k += 1
            if winding != 0:
                pixels[col, row] = 0
    scale = pixels_per_unit // samples or 1
    return image.resize((cols * scale, rows * scale), Image.Resampling.NEAREST)
