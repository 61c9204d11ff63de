"""Cover pictures for the demo events, drawn with Pillow (no downloads, same picture every run)."""

import io
import random

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

# Two gradient colours per category; the title is drawn over them.
PALETTES = {
    "Conference": ((30, 41, 120), (14, 165, 233)),
    "Festival": ((190, 24, 93), (251, 146, 60)),
    "Workshop": ((6, 95, 70), (163, 230, 53)),
    "Meetup": ((76, 29, 149), (236, 72, 153)),
    "Concert": ((17, 24, 39), (180, 83, 9)),
}
SIZE = (1600, 800)


def demo_cover(title: str, category: str) -> bytes:
    """A 1600x800 PNG: a diagonal gradient, soft circles seeded by the title, and the title."""
    start, end = PALETTES.get(category, ((55, 48, 163), (194, 65, 12)))
    width, height = SIZE
    vertical = Image.linear_gradient("L")
    gradient = ImageChops.add(vertical, vertical.rotate(90), scale=2).resize(SIZE)
    image = Image.composite(Image.new("RGB", SIZE, end), Image.new("RGB", SIZE, start), gradient)
    shapes = Image.new("RGBA", SIZE, (0, 0, 0, 0))
    draw = ImageDraw.Draw(shapes)
    chance = random.Random(title)  # noqa: S311 - decoration, not security
    for _ in range(14):
        r = chance.randint(60, 260)
        x, y = chance.randint(0, width), chance.randint(0, height)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 255, chance.randint(18, 60)))
    soft = shapes.filter(ImageFilter.GaussianBlur(6))
    image.paste(soft, (0, 0), soft)
    text = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=96)
    small = ImageFont.load_default(size=44)
    # Around the middle: an event page shows the picture at 3:1, cutting a sixth off the top
    # and the bottom, and a title drawn lower was cut in half.
    text.text((80, height // 2 - 80), category.upper(), font=small, fill=(255, 255, 255))
    text.text((80, height // 2 - 20), title, font=font, fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()
