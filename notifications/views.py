from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.selectors import organizations_managed_by
from core.errors import DomainError
from core.http import AuthedRequest
from events.selectors import event_managed_by
from notifications import endpoints, preferences, selectors, ticket_links
from notifications.errors import InvalidUnsubscribeLink
from notifications.forms import PreferenceForm, ReminderForm, WebhookForm
from notifications.models import Kind, Notification, ReminderSchedule, WebhookEndpoint
from notifications.services import reminder_schedule_set

# --- The notification centre and preferences ---------------------------------------------------


def ticket_qr(request: HttpRequest, token: str) -> HttpResponse:
    """The QR image a confirmation mail shows: anyone holding the signed link, like the mail."""
    png = ticket_links.ticket_qr_png(token)
    if png is None:
        raise Http404("No such ticket code.")
    response = HttpResponse(png, content_type="image/png")
    # Private: it is a ticket. A day: a transfer changes the link, so staleness cannot admit.
    response["Cache-Control"] = "private, max-age=86400"
    return response


@login_required
def centre(request: AuthedRequest) -> HttpResponse:
    notifications = selectors.notifications_for(request.user)
    page = Paginator(notifications, 20).get_page(request.GET.get("page"))
    return render(request, "notifications/centre.html", {"page": page})


@login_required
@require_POST
def open_notification(request: AuthedRequest, notification_id: Any) -> HttpResponse:
    try:
        notification = preferences.notification_open(
            user=request.user, notification_id=notification_id
        )
    except Notification.DoesNotExist as exc:
        raise Http404 from exc
    if notification.url and url_has_allowed_host_and_scheme(notification.url, allowed_hosts=None):
        return redirect(notification.url)
    return redirect("notifications:centre")


@login_required
@require_POST
def read_all(request: AuthedRequest) -> HttpResponse:
    preferences.notifications_mark_all_read(user=request.user)
    return redirect("notifications:centre")


@login_required
def preference_edit(request: AuthedRequest) -> HttpResponse:
    instance = preferences.preference_for(request.user)
    form = PreferenceForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            preferences.preference_update(
                user=request.user,
                phone=data["phone"],
                **{name: data[name] for name in preferences.CHOICE_FIELDS},
            )
        except DomainError as exc:
            form.add_error(None, exc.detail_message)
        else:
            messages.success(request, _("Your notification settings are saved."))
            return redirect("notifications:preferences")
    status = 422 if request.method == "POST" else 200
    rows = [
        (label, [form[f"{kind}_{channel}"] for channel in ("email", "sms", "inapp")])
        for kind, label in Kind.choices
        if kind != Kind.TRANSACTIONAL
    ]
    return render(
        request, "notifications/preferences.html", {"form": form, "rows": rows}, status=status
    )


# One-click unsubscribe (RFC 8058) is a POST from the mail client without a CSRF token.
@csrf_exempt
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        user, kind = preferences.unsubscribe_read(token)
    except InvalidUnsubscribeLink as exc:
        return render(
            request, "notifications/unsubscribe.html", {"error": exc.detail_message}, status=400
        )
    if request.method == "POST":
        preferences.unsubscribe_apply(token=token)
        return render(
            request, "notifications/unsubscribe.html", {"done": True, "kind": Kind(kind).label}
        )
    return render(
        request,
        "notifications/unsubscribe.html",
        {"kind": Kind(kind).label, "email": user.email, "token": token},
    )


# --- Organizer: webhooks and reminders ---------------------------------------------------------


def _endpoint(request: AuthedRequest, endpoint_id: Any) -> WebhookEndpoint:
    try:
        return selectors.webhook_endpoint_managed_by(request.user, endpoint_id)
    except WebhookEndpoint.DoesNotExist as exc:
        raise Http404 from exc


@login_required
def webhook_list(request: AuthedRequest) -> HttpResponse:
    organizations = organizations_managed_by(request.user)
    if not organizations.exists():
        raise Http404
    form = WebhookForm(request.POST or None, organizations=organizations)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            endpoint = endpoints.webhook_endpoint_create(
                actor=request.user,
                organization=data["organization"],
                url=data["url"],
                topics=data["topics"],
                description=data["description"],
            )
        except DomainError as exc:
            form.add_error("url", exc.detail_message)
        else:
            messages.success(request, _("Endpoint added. Its signing secret is shown below."))
            return redirect("notifications:webhook", endpoint_id=endpoint.pk)
    return render(
        request,
        "notifications/webhook_list.html",
        {"form": form, "endpoints": selectors.webhook_endpoints_managed_by(request.user)},
        status=422 if request.method == "POST" else 200,
    )


@login_required
def webhook_detail(request: AuthedRequest, endpoint_id: Any) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    initial = {"url": endpoint.url, "description": endpoint.description, "topics": endpoint.topics}
    form = WebhookForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            endpoints.webhook_endpoint_update(
                actor=request.user,
                endpoint=endpoint,
                url=data["url"],
                topics=data["topics"],
                description=data["description"],
            )
        except DomainError as exc:
            form.add_error("url", exc.detail_message)
        else:
            messages.success(request, _("Endpoint saved."))
            return redirect("notifications:webhook", endpoint_id=endpoint.pk)
    return render(
        request,
        "notifications/webhook_detail.html",
        {
            "endpoint": endpoint,
            "form": form,
            "deliveries": selectors.webhook_deliveries(endpoint),
        },
        status=422 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def webhook_action(request: AuthedRequest, endpoint_id: Any, action: str) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    if action == "test":
        endpoints.webhook_endpoint_test(actor=request.user, endpoint=endpoint)
        messages.success(request, _("Test event queued; it shows in the log below in a moment."))
    elif action in ("enable", "disable"):
        endpoints.webhook_endpoint_update(
            actor=request.user, endpoint=endpoint, is_active=action == "enable"
        )
        done = "Endpoint switched on." if action == "enable" else "Endpoint switched off."
        messages.success(request, done)
    elif action == "rotate":
        endpoints.webhook_endpoint_update(actor=request.user, endpoint=endpoint, rotate_secret=True)
        messages.success(request, _("New signing secret made; the old one no longer works."))
    elif action == "delete":
        endpoints.webhook_endpoint_delete(actor=request.user, endpoint=endpoint)
        messages.success(request, _("Endpoint deleted."))
        return redirect("notifications:webhooks")
    else:
        raise Http404
    return redirect("notifications:webhook", endpoint_id=endpoint.pk)


@login_required
def event_reminders(request: AuthedRequest, event_id: Any) -> HttpResponse:
    event = event_managed_by(request.user, event_id)
    schedule = ReminderSchedule.objects.filter(event=event).first()
    offsets = schedule.offsets_minutes if schedule else settings.NOTIFICATIONS_REMINDER_OFFSETS
    current = ", ".join(f"{m / 60:g}" for m in sorted(offsets, reverse=True))
    form = ReminderForm(request.POST or None, initial={"hours": current})
    if request.method == "POST" and form.is_valid():
        reminder_schedule_set(event=event, offsets_minutes=form.cleaned_data["hours"])
        messages.success(request, _("Reminder times saved."))
        return redirect("notifications:event_reminders", event_id=event.pk)
    return render(
        request,
        "notifications/event_reminders.html",
        {"event": event, "form": form},
        status=422 if request.method == "POST" else 200,
    )
