import uuid
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.selectors import organizations_managed_by
from config.errors import DomainError
from config.http import AuthedRequest
from events import services
from events.forms import EventFilterForm, EventForm, TierFormSet
from events.models import Event
from events.selectors import (
    categories,
    cities,
    event_managed_by,
    events_managed_by,
    published_event,
    upcoming_events,
)
from ticketing.services import orders_release_expired


def event_list(request: HttpRequest) -> HttpResponse:
    form = EventFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = {
            "query": data["q"],
            "category": data["category"].slug if data["category"] else None,
            "city": data["city"],
            "start_date": data["start_date"],
            "end_date": data["end_date"],
        }
    page = Paginator(upcoming_events(**filters), 12).get_page(request.GET.get("page"))
    query_string = request.GET.copy()
    query_string.pop("page", None)
    return render(
        request,
        "events/list.html",
        {
            "form": form,
            "page": page,
            "cities": cities(),
            "categories": categories(),
            "query_string": query_string.urlencode(),
        },
    )


def event_detail(request: HttpRequest, event_id: Any, slug: str | None = None) -> HttpResponse:
    event = published_event(event_id)
    # Expired holds go back on sale as the page is read, even if the beat worker is behind.
    if orders_release_expired(event_id=event.pk):
        event = published_event(event_id)
    if slug != event.slug:
        return redirect("events:detail_slug", event_id=event.pk, slug=event.slug)
    return render(
        request,
        "events/detail.html",
        {
            "event": event,
            "tiers": event.tiers.all(),
            "idempotency_key": uuid.uuid4().hex,
        },
    )


# --- Organizer pages ---------------------------------------------------------------------------


@login_required
def manage_list(request: AuthedRequest) -> HttpResponse:
    organizations = list(organizations_managed_by(request.user))
    if not organizations:
        raise Http404("You do not manage any organization.")
    events = events_managed_by(request.user)
    status = request.GET.get("status")
    if status in Event.Status.values:
        events = events.filter(status=status)
    q = request.GET.get("q", "").strip()
    if q:
        events = events.filter(title__icontains=q)
    return render(
        request,
        "events/manage_list.html",
        {
            "events": events,
            "organizations": organizations,
            "statuses": Event.Status.choices,
            "status": status,
            "q": q,
        },
    )


@login_required
def manage_create(request: AuthedRequest) -> HttpResponse:
    organizations = list(organizations_managed_by(request.user))
    if not organizations:
        raise Http404("You do not manage any organization.")
    form = EventForm(request.POST or None)
    tiers = TierFormSet(request.POST or None, prefix="tiers")
    if request.method == "POST" and form.is_valid() and tiers.is_valid():
        organization = next(
            (o for o in organizations if str(o.pk) == request.POST.get("organization")),
            organizations[0],
        )
        try:
            event = services.event_create(
                actor=request.user,
                organization=organization,
                venue=form.venue_spec(),
                tiers=[t.spec() for t in tiers if t.has_changed() and t.cleaned_data],
                **form.event_fields(),
            )
        except DomainError as exc:
            form.add_error(None, exc.detail_message)
        else:
            messages.success(request, "Draft created. Publish it when you are ready.")
            return redirect("events:manage_edit", event_id=event.pk)
    return render(
        request,
        "events/manage_form.html",
        {
            "form": form,
            "tiers": tiers,
            "organizations": organizations,
            "event": None,
        },
    )


@login_required
def manage_edit(request: AuthedRequest, event_id: Any) -> HttpResponse:
    event = event_managed_by(request.user, event_id)
    if request.method == "POST":
        form = EventForm(request.POST)
        tiers = TierFormSet(request.POST, prefix="tiers")
    else:
        form = EventForm(initial=EventForm.initial_for(event))
        tiers = TierFormSet(
            prefix="tiers",
            initial=[
                {
                    "id": t.pk,
                    "name": t.name,
                    "price": t.price,
                    "capacity": t.capacity,
                    "max_per_order": t.max_per_order,
                }
                for t in event.tiers.all()
            ],
        )
    if request.method == "POST" and form.is_valid() and tiers.is_valid():
        try:
            services.event_update(
                actor=request.user,
                event=event,
                venue=form.venue_spec(),
                tiers=[t.spec() for t in tiers if t.cleaned_data],
                **form.event_fields(),
            )
        except DomainError as exc:
            form.add_error(None, exc.detail_message)
        else:
            messages.success(request, "Saved.")
            return redirect("events:manage_edit", event_id=event.pk)
    return render(
        request,
        "events/manage_form.html",
        {
            "form": form,
            "tiers": tiers,
            "event": event,
        },
    )


def _manage_action(action: str) -> Callable[..., HttpResponse]:
    service, done = {
        "publish": (services.event_publish, "Published: tickets are on sale."),
        "cancel": (services.event_cancel, "Event cancelled."),
        "delete": (services.event_delete, "Draft deleted."),
    }[action]

    @login_required
    @require_POST
    def view(request: AuthedRequest, event_id: Any) -> HttpResponse:
        event = event_managed_by(request.user, event_id)
        try:
            service(actor=request.user, event=event)
        except DomainError as exc:
            messages.error(request, exc.detail_message)
            return redirect("events:manage_edit", event_id=event.pk)
        messages.success(request, done)
        if action == "delete":
            return redirect("events:manage_list")
        return redirect("events:manage_edit", event_id=event.pk)

    view.__name__ = f"manage_{action}"
    return view


manage_publish = _manage_action("publish")
manage_cancel = _manage_action("cancel")
manage_delete = _manage_action("delete")
