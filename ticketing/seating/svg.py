"""A server-rendered SVG picture of a layout or of an event's seats, for the organizer pages.

Colour says the price zone; shape says the attribute (so it is never colour alone): a circle is
a plain seat, a square a wheelchair space, a diamond a companion seat, a struck-through seat has
a restricted view and a thick outline marks an aisle seat. On an event, held seats are hatched,
sold seats dark and blocked seats white with a cross.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from ticketing.models import SEAT_STATES

# The zone colours are the --seat-zone-* tokens behind the .z0 ... .z4 classes (static/css), the
# same classes the buyer's seat map and every legend use, so a zone has one colour everywhere.
ZONE_CLASSES = 5
UNIT = 24  # grid step in SVG units
RADIUS = 9
PAD = 40


def zone_colours(zones: Iterable[str]) -> dict[str, str]:
    """A stable colour class per zone (in sorted order), repeated when there are more zones."""
    return {zone: f"z{i % ZONE_CLASSES}" for i, zone in enumerate(sorted(set(zones)))}


def _shape(seat: Any, cx: int, cy: int, stroke_width: int) -> str:
    common = f'class="dot" stroke-width="{stroke_width}"'
    if seat.wheelchair:
        r = RADIUS
        return f'<rect x="{cx - r}" y="{cy - r}" width="{2 * r}" height="{2 * r}" rx="2" {common}/>'
    if seat.companion:
        r = RADIUS + 1
        points = f"{cx},{cy - r} {cx + r},{cy} {cx},{cy + r} {cx - r},{cy}"
        return f'<polygon points="{points}" {common}/>'
    return f'<circle cx="{cx}" cy="{cy}" r="{RADIUS}" {common}/>'


def seats_svg(
    seats: Sequence[Any], *, colours: dict[str, str], title: str, states: bool = False
) -> SafeString:
    """An <svg> of `seats` (MapSeats, or EventSeats annotated with `state` when `states`)."""
    if not seats:
        return mark_safe("")  # nosec B308 - empty
    min_x = min(s.x for s in seats)
    min_y = min(s.y for s in seats)
    width = (max(s.x for s in seats) - min_x) * UNIT + 2 * PAD
    height = (max(s.y for s in seats) - min_y) * UNIT + 2 * PAD
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="seat-svg" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}" role="img" aria-label="{escape(title)}"'
        f' data-unit="{UNIT}" data-pad="{PAD}" data-min-x="{min_x}" data-min-y="{min_y}">',
        "<defs>"
        '<pattern id="held" width="4" height="4" patternUnits="userSpaceOnUse"'
        ' patternTransform="rotate(45)"><rect width="4" height="4" fill="#fff"/>'
        '<rect width="2" height="4" fill="#555b66"/></pattern>'
        "</defs>",
        f'<text x="{width / 2}" y="18" text-anchor="middle" class="stage">Stage</text>',
    ]
    row_starts: dict[tuple[str, str], tuple[int, int]] = {}
    for seat in seats:
        cx = (seat.x - min_x) * UNIT + PAD
        cy = (seat.y - min_y) * UNIT + PAD
        key = (seat.section, seat.row)
        if key not in row_starts or cx < row_starts[key][0]:
            row_starts[key] = (cx, cy)
        state = getattr(seat, "state", "a") if states else "a"
        label = f"{seat.section} {seat.row}-{seat.number}"
        notes = [_("zone %(zone)s") % {"zone": seat.zone}]
        notes += [n for n, on in _attributes(seat) if on]
        if states:
            notes.append(str(SEAT_STATES[state]))
        zone_class = colours.get(seat.zone, "z0")
        parts.append(
            f'<g class="seat seat-{state} {zone_class}" data-label="{escape(label)}"'
            f' data-id="{seat.pk}" data-x="{seat.x}" data-y="{seat.y}">'
            f"<title>{escape(label)} ({escape(', '.join(notes))})</title>"
        )
        parts.append(_shape(seat, cx, cy, 3 if seat.aisle else 1))
        if seat.restricted_view:
            r = RADIUS - 2
            parts.append(
                f'<line x1="{cx - r}" y1="{cy + r}" x2="{cx + r}" y2="{cy - r}"'
                ' stroke="#16181d" stroke-width="2"/>'
            )
        if state == "b":
            r = RADIUS - 3
            parts.append(
                f'<path d="M{cx - r} {cy - r}L{cx + r} {cy + r}'
                f'M{cx + r} {cy - r}L{cx - r} {cy + r}"'
                ' stroke="#b3261e" stroke-width="2"/>'
            )
        parts.append("</g>")
    for (_section, row), (cx, cy) in row_starts.items():
        parts.append(
            f'<text x="{cx - RADIUS - 4}" y="{cy + 4}" text-anchor="end" class="row-label"'
            f' aria-hidden="true">{escape(row)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text part above is escaped


def _attributes(seat: Any) -> list[tuple[str, bool]]:
    return [
        (_("wheelchair space"), seat.wheelchair),
        (_("companion seat"), seat.companion),
        (_("restricted view"), seat.restricted_view),
        (_("aisle"), seat.aisle),
    ]
