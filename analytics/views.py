import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.selectors import organizations_managed_by
from analytics import attendees as attendee_lists
from analytics.bulk import (
    MAX_BULK,
    attendees_check_in,
    attendees_email,
    attendees_refund,
    attendees_tickets_resend,
)
from analytics.charts import time_chart
from analytics.exports import attendees_csv, attendees_xlsx
from analytics.orders import order_managed_by, order_timeline
from analytics.scope import can_see_platform, dashboard_events
from analytics.selectors import event_live
from analytics.stats import (
    Period,
    change,
    event_stats,
    once_per_refresh,
    organizer_stats,
    period_minute,
    period_named,
    popular_events,
    upcoming_fill,
)
from core.errors import DomainError
from core.http import AuthedRequest
from events.questions import event_questions
from events.selectors import event_managed_by

PERIODS = [
    ("today", gettext_lazy("Today")),
    ("7d", gettext_lazy("7 days")),
    ("30d", gettext_lazy("30 days")),
    ("custom", gettext_lazy("Custom")),
]


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _period(request: AuthedRequest) -> tuple[str, Period, str]:
    """The period asked for, and an error to show when a custom one is not valid."""
    name = request.GET.get("period", "7d")
    if name == "custom":
        first, last = _date(request.GET.get("from")), _date(request.GET.get("to"))
        if first and last and first <= last and (last - first).days <= 366:
            tz = timezone.get_current_timezone()
            start = timezone.make_aware(datetime.combine(first, time.min), tz)
            end = timezone.make_aware(datetime.combine(last + timedelta(days=1), time.min), tz)
            return name, Period(start=start, end=end), ""
        error = _("Choose a start and an end date (at most a year apart).")
        return "7d", period_named("7d"), error
    if name not in dict(PERIODS):
        name = "7d"
    return name, period_named(name), ""


def _rendered_once_per_refresh(
    scope: Any, template: str, context: Callable[[], dict[str, Any]], *, version: Any = None
) -> SafeString:
    """`template` rendered with `context()` once per summary refresh (and `version`) for
    `scope` and the current language: the figures in it are the same for every request until
    the refresh moves the watermark, and rendering their tables was most of a dashboard's time.
    The template takes nothing from the request (no user, no CSRF token)."""
    html = once_per_refresh(
        ("html", template, get_language(), scope),
        lambda: render_to_string(template, context()),
        version=version,
    )
    return mark_safe(html)  # noqa: S308 - our own template's output


@login_required
def organizer_home(request: AuthedRequest) -> HttpResponse:
    """The organizer's cross-event dashboard (admins may switch to the whole platform)."""
    platform = request.GET.get("scope") == "platform" and can_see_platform(request.user)
    organizations = sorted(
        str(pk) for pk in organizations_managed_by(request.user).values_list("pk", flat=True)
    )
    if not platform and not organizations:
        if can_see_platform(request.user):
            return redirect(f"{request.path}?scope=platform")
        raise Http404("You do not manage any organization.")
    name, period, error = _period(request)
    # A named period ends now: its figures are one entry, renewed each minute (the version).
    fixed = period_minute(period) if name == "custom" else None
    scope = ("organizer", "platform" if platform else organizations, name, fixed)
    user = request.user
    summary = _rendered_once_per_refresh(
        scope,
        "analytics/_organizer_summary.html",
        lambda: _organizer_summary(user, platform=platform, period=period),
        version=period_minute(period),
    )
    return render(
        request,
        "analytics/organizer_home.html",
        {
            "period_name": name,
            "periods": PERIODS,
            "error": error,
            "summary": summary,
            "platform": platform,
            "can_see_platform": can_see_platform(request.user),
            "custom_from": request.GET.get("from", ""),
            "custom_to": request.GET.get("to", ""),
        },
    )


def _organizer_summary(user: Any, *, platform: bool, period: Period) -> dict[str, Any]:
    events = dashboard_events(user, platform=platform)
    stats = organizer_stats(events, period)
    counts, previous = stats.totals.counts, stats.previous.counts
    net_now = stats.totals.money_of("net")
    net_before = stats.previous.money_of("net")
    kpis: list[dict[str, Any]] = [
        {
            "kind": "count",
            "label": _("Tickets sold"),
            "value": counts["tickets"],
            "change": change(counts["tickets"], previous["tickets"]),
        },
        {
            "kind": "money",
            "label": _("Net revenue"),
            "money": [
                (cur, amount, change(float(amount), float(net_before.get(cur, 0))))
                for cur, amount in net_now.items()
            ],
        },
        {
            "kind": "money",
            "label": _("Refunded"),
            "money": [
                (cur, amount, None) for cur, amount in stats.totals.money_of("refunds").items()
            ],
            "note": ngettext("%(count)s ticket", "%(count)s tickets", counts["refunded_tickets"])
            % {"count": counts["refunded_tickets"]},
        },
        {
            "kind": "percent",
            "label": _("Check-in rate"),
            "percent": stats.checkin_rate,
            "change": change(stats.checkin_rate, stats.previous_checkin_rate),
            "note": _("of events held in the period"),
        },
        {
            "kind": "percent",
            "label": _("Conversion"),
            "percent": stats.totals.conversion,
            "change": change(stats.totals.conversion, stats.previous.conversion),
            "note": _("%(orders)s paid orders / %(views)s page views")
            % {"orders": counts["orders"], "views": counts["page_views"]},
        },
        {
            "kind": "rate",
            "label": _("Bookings per hour"),
            "rate": stats.booking_rate,
            "change": stats.booking_rate_trend,
        },
    ]
    for kpi in kpis:
        kpi.setdefault("change", None)
        kpi.setdefault("note", "")
    return {
        "period": period,
        "stats": stats,
        "kpis": kpis,
        "sales_chart": time_chart(
            stats.series,
            "at",
            [("Tickets sold", "tickets"), ("Check-ins", "checkins")],
            bucket=period.bucket,
        ),
        "upcoming": upcoming_fill(events),
        "rendered_at": timezone.now(),
        "popular": popular_events(period) if platform else None,
    }


@login_required
def event_dashboard(request: AuthedRequest, event_id: Any) -> HttpResponse:
    """One event: live counters (polled), sales and check-in curves, tiers, after-sale, feedback."""
    event = event_managed_by(request.user, event_id, with_tiers=False)
    summary = _rendered_once_per_refresh(
        ("event", str(event.pk)), "analytics/_event_summary.html", lambda: _event_summary(event)
    )
    # The counters the page polls, shared for LIVE_MAX_AGE like the poll: a fresh count per page
    # view was five queries, as many as the rest of the page.
    live = event_live(event)
    return render(
        request,
        "analytics/event_dashboard.html",
        {
            "event": event,
            "live": live,
            "live_at": datetime.fromisoformat(live["at"]),
            "summary": summary,
        },
    )


def _event_summary(event: Any) -> dict[str, Any]:
    stats = event_stats(event)
    return {
        "event": event,
        "stats": stats,
        "sales_chart": time_chart(
            stats.sales_series, "hour", [("Tickets sold", "tickets"), ("Net revenue", "net")]
        ),
        "checkin_chart": time_chart(stats.checkin_series, "hour", [("Check-ins", "checkins")]),
    }


@login_required
def event_live_json(request: AuthedRequest, event_id: Any) -> JsonResponse:
    """The live counters the event dashboard polls (cheap: shared for LIVE_MAX_AGE)."""
    event = event_managed_by(request.user, event_id, with_tiers=False)
    response = JsonResponse(event_live(event))
    response["Cache-Control"] = "no-store"
    return response


def _filters(request: AuthedRequest, event: Any) -> attendee_lists.AttendeeFilters:
    source = request.POST if request.method == "POST" else request.GET
    tier = source.get("tier", "")
    if tier and tier not in {str(t.pk) for t in event.tiers.all()}:
        tier = ""
    checked = source.get("checked_in", "")
    status = source.get("status", "")
    return attendee_lists.AttendeeFilters(
        q=source.get("q", "")[:100],
        tier=tier,
        checked_in={"yes": True, "no": False}.get(checked),
        status=status if status in attendee_lists.ATTENDEE_STATUSES else "",
        sort=source.get("sort", "")[:20],
    )


PAGE_SIZE = 50


def _attendee_page(event: Any, filters: attendee_lists.AttendeeFilters, number: Any) -> Page:
    """One page of attendee ids; its total comes with it (one search, not a search and a count)."""
    try:
        wanted = max(int(number or 1), 1)
    except ValueError:
        wanted = 1

    def ids(page: int) -> list[tuple[Any, int | None]]:
        return attendee_lists.attendee_id_page(
            event, filters, (page - 1) * PAGE_SIZE, page * PAGE_SIZE
        )

    rows = ids(wanted)
    if rows and rows[0][1] is not None:
        total = rows[0][1]
    elif rows:
        total = attendee_lists.attendees_count(event, filters)
    elif wanted == 1:  # nothing matches: no need to search again to count it
        total = 0
    else:  # past the end: the last page, as Paginator.get_page does
        total = attendee_lists.attendees_count(event, filters)
        wanted = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        rows = ids(wanted) if total else []
    paginator: Paginator[Any] = Paginator([], PAGE_SIZE)
    paginator.count = total
    return Page([pk for pk, _total in rows], wanted, paginator)


# Stands for an order's id in its page's URL, reversed once per table instead of once a row.
_ORDER_SLOT = uuid.UUID(int=0)


def _attendee_table_rows(ids: list[Any], questions: Any) -> list[dict[str, Any]]:
    """The table's rows of `ids`, with what each row's cells need besides the attendee."""
    order_url = reverse("analytics:order", args=[_ORDER_SLOT])
    select = _("Select %(name)s (%(ref)s)")
    rows = []
    for ticket in attendee_lists.attendees_by_id(ids):
        row = attendee_lists.attendee_row(ticket, questions)
        row["order_url"] = order_url.replace(str(_ORDER_SLOT), row["order_id"])
        row["select_label"] = select % {"name": row["name"], "ref": row["ticket_ref"]}
        rows.append(row)
    return rows


@login_required
def event_attendees(request: AuthedRequest, event_id: Any) -> HttpResponseBase:
    """Attendee table: search (typos forgiven), filters, sorting, pages, bulk actions, export."""
    event = event_managed_by(request.user, event_id)
    filters = _filters(request, event)
    export = request.GET.get("export")
    if export == "csv":
        return attendees_csv(event, attendee_lists.attendees(event, filters))
    if export == "xlsx":
        return attendees_xlsx(event, attendee_lists.attendees(event, filters))
    page = _attendee_page(event, filters, request.GET.get("page"))
    questions = event_questions(event.pk)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("sort", None)
    return render(
        request,
        "analytics/attendees.html",
        {
            "event": event,
            "filters": filters,
            "page": page,
            "rows": _attendee_table_rows(list(page.object_list), questions),
            "questions": questions,
            "columns": 9 + len(questions),
            "tiers": list(event.tiers.all()),
            "statuses": attendee_lists.ATTENDEE_STATUSES,
            "query": query.urlencode(),
            "sorts": [
                ("name", _("Name")),
                ("email", _("Email")),
                ("tier", _("Tier")),
                ("status", _("Status")),
                ("checked_in", _("Checked in")),
            ],
            "capped": attendee_lists.search_capped(page.paginator.count),
            "ranked_max": attendee_lists.SEARCH_CANDIDATES_MAX,
            "batch_key": uuid.uuid4().hex,
            "max_bulk": MAX_BULK,
        },
    )


@login_required
@require_POST
def event_attendees_bulk(request: AuthedRequest, event_id: Any) -> HttpResponse:
    """Apply one action to the selected attendees, or to every one the filter matches."""
    event = event_managed_by(request.user, event_id)
    filters = _filters(request, event)
    if request.POST.get("scope") == "filter":
        ids: list[Any] = list(
            attendee_lists.attendees(event, filters).values_list("pk", flat=True)[:MAX_BULK]
        )
    else:
        ids = request.POST.getlist("ticket")[:MAX_BULK]
    action = request.POST.get("action")
    batch_key = (request.POST.get("batch_key") or uuid.uuid4().hex)[:64]
    if not ids:
        messages.error(request, _("Select at least one attendee."))
    elif action == "refund":
        outcome = attendees_refund(
            actor=request.user,
            event=event,
            ticket_ids=ids,
            batch_key=batch_key,
        )
        messages.success(
            request, (_("Cancelled and refunded %(done)s tickets.") % {"done": outcome.done})
        )
        for failure in outcome.failed:
            messages.error(request, failure)
    elif action == "check_in":
        outcome = attendees_check_in(actor=request.user, event=event, ticket_ids=ids)
        messages.success(request, (_("Checked in %(done)s attendees.") % {"done": outcome.done}))
        for failure in outcome.failed:
            messages.error(request, failure)
    elif action == "email":
        try:
            outcome = attendees_email(
                actor=request.user,
                event=event,
                ticket_ids=ids,
                subject=request.POST.get("subject", ""),
                body=request.POST.get("body", ""),
                batch_key=batch_key,
            )
        except DomainError as exc:
            messages.error(request, exc.detail_message)
        else:
            messages.success(
                request, (_("Message on its way to %(done)s attendees.") % {"done": outcome.done})
            )
    elif action == "resend":
        outcome = attendees_tickets_resend(
            actor=request.user, event=event, ticket_ids=ids, batch_key=batch_key
        )
        messages.success(
            request,
            (_("%(done)s tickets on their way to their holders again.") % {"done": outcome.done}),
        )
    else:
        messages.error(request, _("Choose an action."))
    back = request.POST.get("back", "")
    target = f"{request.path.rsplit('/bulk', 1)[0]}"
    return redirect(f"{target}?{back}" if back and not back.startswith(("/", "http")) else target)


@login_required
def order_page(request: AuthedRequest, order_id: Any) -> HttpResponse:
    """One order of an event the user manages, with its whole timeline."""
    order = order_managed_by(request.user, order_id)
    return render(
        request,
        "analytics/order.html",
        {
            "order": order,
            "event": order.event,
            "timeline": order_timeline(order),
            "tickets": [t.code for t in order.tickets.all()],
        },
    )
