"""Organizer pages for assigned seating: venue layouts (generate, import, edit, export) and an
event's seats (apply a layout, block and release seats). Everything is loaded through selectors
scoped to the user's organizations, so a foreign id is a 404 and door staff see nothing."""

from collections import Counter
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.http import AuthedRequest
from core.ids import is_uuid
from events.models import Event
from events.selectors import event_managed_by, venue_managed_by, venues_managed_by
from ticketing.models import MapSeat, SeatMap
from ticketing.seating import services as seating
from ticketing.seating.forms import (
    ApplySeatingForm,
    EventSeatFilterForm,
    MapSeatFilterForm,
    NewSeatMapForm,
    SeatBlockForm,
    SeatBlockingForm,
    SeatBulkForm,
    SeatMapImportForm,
)
from ticketing.seating.selectors import (
    event_seat_sections,
    event_seats_by_labels,
    event_seats_filtered,
    event_seats_with_state,
    event_tier_seat_counts,
    map_facets,
    map_seats_filtered,
    seat_map_managed_by,
    seat_maps_of_venue,
)
from ticketing.seating.svg import seats_svg, zone_colours

SEATS_PER_PAGE = 100  # three label inputs and a checkbox each: well under Django's field limit


def _seats(n: int) -> str:
    return ngettext("%(n)d seat", "%(n)d seats", n) % {"n": n}


def _query(text: str) -> str:
    """A filter query string handed back by a form, re-encoded so only parameters survive."""
    return QueryDict(text).urlencode()


def _back(name: str, pk: Any, query: str = "") -> HttpResponse:
    url = reverse(name, args=[pk])
    return redirect(f"{url}?{query}" if query else url)


# --- Venues and their layouts -------------------------------------------------------------------


@login_required
def venue_list(request: AuthedRequest) -> HttpResponse:
    venues = venues_managed_by(request.user).annotate(layouts=Count("seat_maps"))
    return render(request, "ticketing/seating/venue_list.html", {"venues": venues})


@login_required
def seat_map_list(request: AuthedRequest, venue_id: int) -> HttpResponse:
    venue = venue_managed_by(request.user, venue_id)
    form = NewSeatMapForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                seat_map = seating.seat_map_create(
                    user=request.user,
                    venue=venue,
                    name=form.cleaned_data["name"],
                    blocks=[form.block()],
                )
            except DomainError as exc:
                form.add_error(None, exc.detail_message)
            else:
                messages.success(request, (_("Layout %(name)s created.") % {"name": seat_map.name}))
                return redirect("ticketing:seat_map_edit", seat_map_id=seat_map.pk)
        status = 422
    return render(
        request,
        "ticketing/seating/seat_map_list.html",
        {"venue": venue, "seat_maps": seat_maps_of_venue(venue), "form": form},
        status=status,
    )


@login_required
def seat_map_import(request: AuthedRequest, venue_id: int) -> HttpResponse:
    venue = venue_managed_by(request.user, venue_id)
    form = SeatMapImportForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                seat_map = seating.seat_map_create(
                    user=request.user,
                    venue=venue,
                    name=form.cleaned_data["name"],
                    seats=form.cleaned_data["seats"],
                )
            except DomainError as exc:
                form.add_error(None, exc.detail_message)
            else:
                count = len(form.cleaned_data["seats"])
                messages.success(
                    request,
                    _("Imported %(seats)s into %(map)s.")
                    % {"seats": _seats(count), "map": seat_map.name},
                )
                return redirect("ticketing:seat_map_edit", seat_map_id=seat_map.pk)
        status = 422
    return render(
        request,
        "ticketing/seating/seat_map_import.html",
        {"venue": venue, "form": form},
        status=status,
    )


@login_required
def seat_map_export(request: AuthedRequest, seat_map_id: Any) -> HttpResponse:
    seat_map = seat_map_managed_by(request.user, seat_map_id)
    response = HttpResponse(
        seating.layout_export(seat_map=seat_map), content_type="application/json"
    )
    filename = f"{slugify(seat_map.venue.name)}-{slugify(seat_map.name)}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_POST
def seat_map_delete(request: AuthedRequest, seat_map_id: Any) -> HttpResponse:
    seat_map = seat_map_managed_by(request.user, seat_map_id)
    venue_id = seat_map.venue_id
    seating.seat_map_delete(user=request.user, seat_map=seat_map)
    messages.success(
        request,
        (_("Layout %(name)s deleted; events keep their own seats.") % {"name": seat_map.name}),
    )
    return redirect("ticketing:seat_map_list", venue_id=venue_id)


# The block and bulk forms share field names with the seat filter on the same page; own ids keep
# each label tied to its own box.
BLOCK_IDS = "block-%s"
BULK_IDS = "bulk-%s"


def _edit_page(
    request: AuthedRequest,
    seat_map: SeatMap,
    *,
    bulk: SeatBulkForm | None = None,
    block: SeatBlockForm | None = None,
    query: str | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    params = QueryDict(query) if query is not None else request.GET
    facets = map_facets(seat_map)
    filters = MapSeatFilterForm(
        params,
        sections=[s for s, _ in facets["sections"]],
        zones=[z for z, _ in facets["zones"]],
    )
    seats = map_seats_filtered(seat_map, **filters.filters())
    page = Paginator(seats, SEATS_PER_PAGE).get_page(params.get("page"))
    everything = list(MapSeat.objects.filter(seat_map=seat_map).order_by("y", "x"))
    colours = zone_colours(z for z, _ in facets["zones"])
    if block is None:
        below = max((s.y for s in everything), default=-2) + 2  # a free row under the layout
        block = SeatBlockForm(initial={"y": below, "section": "", "zone": ""}, auto_id=BLOCK_IDS)
    page_query = params.copy()
    page_query.pop("page", None)
    return render(
        request,
        "ticketing/seating/seat_map_edit.html",
        {
            "seat_map": seat_map,
            "venue": seat_map.venue,
            "filters": filters,
            "page": page,
            "filter_query": page_query.urlencode(),
            "query": params.urlencode(),
            "bulk": bulk or SeatBulkForm(auto_id=BULK_IDS),
            "block_form": block,  # not "block": the template engine keeps {% block %}s there
            "error": error,
            "facets": facets,
            "zones": [(z, n, colours[z]) for z, n in facets["zones"]],
            "seat_count": len(everything),
            "svg": seats_svg(
                everything,
                colours=colours,
                title=_("Preview of %(name)s: seats") % {"name": seat_map.name},
            ),
        },
        status=status,
    )


@login_required
def seat_map_edit(request: AuthedRequest, seat_map_id: Any) -> HttpResponse:
    return _edit_page(request, seat_map_managed_by(request.user, seat_map_id))


@login_required
@require_POST
def seat_map_add_block(request: AuthedRequest, seat_map_id: Any) -> HttpResponse:
    seat_map = seat_map_managed_by(request.user, seat_map_id)
    form = SeatBlockForm(request.POST, auto_id=BLOCK_IDS)
    if form.is_valid():
        try:
            added = seating.seat_map_add_blocks(
                user=request.user, seat_map=seat_map, blocks=[form.block()]
            )
        except DomainError as exc:
            form.add_error(None, exc.detail_message)
        else:
            messages.success(
                request,
                _("Added %(seats)s in %(section)s.")
                % {"seats": _seats(added), "section": form.block().section},
            )
            return redirect("ticketing:seat_map_edit", seat_map_id=seat_map.pk)
    return _edit_page(request, seat_map, block=form, status=422)


@login_required
@require_POST
def seat_map_bulk(request: AuthedRequest, seat_map_id: Any) -> HttpResponse:
    """Bulk actions on ticked seats (or every seat the filter matches), or saving relabels."""
    seat_map = seat_map_managed_by(request.user, seat_map_id)
    query = _query(request.POST.get("query", ""))
    if request.POST.get("do") == "relabel":
        return _relabel(request, seat_map, query)
    form = SeatBulkForm(request.POST, auto_id=BULK_IDS)
    if form.is_valid():
        if form.cleaned_data["scope"] == "filter":
            facets = map_facets(seat_map)
            filters = MapSeatFilterForm(
                QueryDict(query),
                sections=[s for s, _ in facets["sections"]],
                zones=[z for z, _ in facets["zones"]],
            )
            seat_ids = list(
                map_seats_filtered(seat_map, **filters.filters()).values_list("pk", flat=True)
            )
        else:
            seat_ids = [int(pk) for pk in request.POST.getlist("seat") if pk.isdigit()]
        if not seat_ids:
            form.add_error(None, _("Tick the seats to change first."))
        else:
            try:
                changed = seating.seat_map_edit(
                    user=request.user, seat_map=seat_map, seat_ids=seat_ids, **form.edit_kwargs()
                )
            except DomainError as exc:
                form.add_error(None, exc.detail_message)
            else:
                action = dict(form.fields["action"].choices)[form.cleaned_data["action"]]  # type: ignore[attr-defined]
                messages.success(request, f"{action}: {_seats(changed)}.")
                if form.cleaned_data["action"] == "remove":
                    query = _query_without_page(query)
                return _back("ticketing:seat_map_edit", seat_map.pk, query)
    return _edit_page(request, seat_map, bulk=form, query=query, status=422)


def _query_without_page(query: str) -> str:
    params = QueryDict(query, mutable=True)
    params.pop("page", None)
    return params.urlencode()


def _relabel(request: AuthedRequest, seat_map: SeatMap, query: str) -> HttpResponse:
    on_page = [int(pk) for pk in request.POST.getlist("on_page") if pk.isdigit()]
    seats = MapSeat.objects.filter(seat_map=seat_map, pk__in=on_page)
    relabel: dict[int, tuple[str, str, str]] = {}
    for seat in seats:
        new = tuple(
            request.POST.get(f"{part}_{seat.pk}", getattr(seat, part)).strip()
            for part in ("section", "row", "number")
        )
        if new != (seat.section, seat.row, seat.number):
            relabel[seat.pk] = new
    if not relabel:
        messages.info(request, _("No label changed."))
        return _back("ticketing:seat_map_edit", seat_map.pk, query)
    try:
        seating.seat_map_edit(
            user=request.user, seat_map=seat_map, seat_ids=list(relabel), relabel=relabel
        )
    except DomainError as exc:
        return _edit_page(request, seat_map, query=query, error=exc.detail_message, status=422)
    messages.success(request, _("Relabelled %(seats)s.") % {"seats": _seats(len(relabel))})
    return _back("ticketing:seat_map_edit", seat_map.pk, query)


# --- An event's seats -----------------------------------------------------------------------------


def _event_page(
    request: AuthedRequest,
    event: Event,
    *,
    apply: ApplySeatingForm | None = None,
    blocking: SeatBlockingForm | None = None,
    chosen_map: SeatMap | None = None,
    status: int = 200,
) -> HttpResponse:
    seat_maps = list(seat_maps_of_venue(event.venue))
    if chosen_map is None and request.GET.get("seat_map"):
        chosen_map = next((m for m in seat_maps if str(m.pk) == request.GET["seat_map"]), None)
    tiers = list(event.tiers.all())
    if chosen_map is not None and apply is None:
        zones = [z for z, _ in map_facets(chosen_map)["zones"]]
        apply = ApplySeatingForm(zones=zones, tiers=tiers)
    sections = event_seat_sections(event)
    filters = EventSeatFilterForm(request.GET, sections=sections)
    page = Paginator(event_seats_filtered(event, **filters.filters()), SEATS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    everything = list(event_seats_with_state(event))
    colours = zone_colours(s.zone for s in everything)
    per_zone = Counter(s.zone for s in everything)
    page_query = request.GET.copy()
    page_query.pop("page", None)
    return render(
        request,
        "ticketing/seating/event_seating.html",
        {
            "event": event,
            "seat_maps": seat_maps,
            "chosen_map": chosen_map,
            "apply": apply,
            "has_orders": event.orders.exists(),
            "tier_counts": event_tier_seat_counts(event),
            "blocked": [s for s in everything if s.state == "b"],  # type: ignore[attr-defined]
            "filters": filters,
            "page": page,
            "filter_query": page_query.urlencode(),
            "blocking": blocking or SeatBlockingForm(),
            "zones": [(z, per_zone[z], colour) for z, colour in sorted(colours.items())],
            "seat_count": len(everything),
            "svg": seats_svg(
                everything,
                colours=colours,
                title=_("Seats of %(title)s") % {"title": event.title},
                states=True,
            ),
        },
        status=status,
    )


@login_required
def event_seating(request: AuthedRequest, event_id: Any) -> HttpResponse:
    return _event_page(request, event_managed_by(request.user, event_id))


@login_required
@require_POST
def event_seating_apply(request: AuthedRequest, event_id: Any) -> HttpResponse:
    event = event_managed_by(request.user, event_id)
    seat_maps = seat_maps_of_venue(event.venue)
    wanted = request.POST.get("seat_map", "")
    chosen_map = seat_maps.filter(pk=wanted).first() if is_uuid(wanted) else None
    if chosen_map is None:
        messages.error(request, _("Choose one of this venue's layouts."))
        return redirect("ticketing:event_seating", event_id=event.pk)
    zones = [z for z, _ in map_facets(chosen_map)["zones"]]
    form = ApplySeatingForm(request.POST, zones=zones, tiers=list(event.tiers.all()))
    if form.is_valid():
        try:
            count = seating.event_seating_apply(
                user=request.user, event=event, seat_map=chosen_map, zone_tiers=form.zone_tiers()
            )
        except DomainError as exc:
            form.add_error(None, exc.detail_message)
        else:
            messages.success(
                request,
                (
                    _("%(count)s seats from %(name)s are now on sale.")
                    % {"count": count, "name": chosen_map.name}
                ),
            )
            return redirect("ticketing:event_seating", event_id=event.pk)
    return _event_page(request, event, apply=form, chosen_map=chosen_map, status=422)


@login_required
@require_POST
def event_seating_block(request: AuthedRequest, event_id: Any) -> HttpResponse:
    event = event_managed_by(request.user, event_id)
    form = SeatBlockingForm(request.POST)
    if form.is_valid():
        seat_ids, unknown = event_seats_by_labels(event, form.cleaned_data["labels"])
        seat_ids += [pk for pk in form.ticked if is_uuid(pk)]
        if unknown:
            form.add_error(
                "labels", _("No such seat: %(labels)s.") % {"labels": ", ".join(unknown[:10])}
            )
        else:
            blocked = form.cleaned_data["action"] == "block"
            try:
                changed = seating.event_seats_block(
                    user=request.user,
                    event=event,
                    seat_ids=seat_ids,
                    blocked=blocked,
                    reason=form.cleaned_data["reason"].strip(),
                )
            except DomainError as exc:
                form.add_error(None, exc.detail_message)
            else:
                skipped = len(set(map(str, seat_ids))) - changed
                note = f" ({skipped} were not free to change)" if skipped else ""
                verb = "Blocked" if blocked else "Released"
                messages.success(request, f"{verb} {_seats(changed)}{note}.")
                return redirect("ticketing:event_seating", event_id=event.pk)
    return _event_page(request, event, blocking=form, status=422)
