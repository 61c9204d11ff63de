"""The door (scanner pages and the JSON they call) and the organizer's check-in pages.

A door is reached two ways: a signed-in member of the organization (`/door/<event>/`, session
and CSRF), or a volunteer's device link (`/door/link/<token>/`, the token in the URL is the
credential, so those endpoints carry no cookie authority and need no CSRF token).
"""

import json
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotModified,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from checkin.errors import DeviceLinkRevoked, KeyInUse, ListNameTaken
from checkin.forms import CheckinListForm, DeviceLinkForm
from checkin.models import CheckinList, DeviceLink, SigningKey
from checkin.selectors import (
    SCAN_FILTERS,
    attendance,
    attendance_version,
    checkin_bundle,
    checkin_list_counts,
    checkin_list_of_event,
    device_link_for_token,
    door_guests_find,
    event_for_door,
    events_for_door,
    scan_log,
)
from checkin.services import (
    OfflineScan,
    ScanResult,
    checkin_list_create,
    checkin_list_default,
    checkin_list_update,
    device_link_create,
    device_link_revoke,
    scans_sync,
    signing_key_revoke,
    signing_key_rotate,
    ticket_admit_manually,
    ticket_scan,
)
from core.errors import NotFound
from core.http import AuthedRequest
from core.qr import qr_svg
from events.models import Event
from events.selectors import event_managed_by

SERVICE_WORKER = Path(settings.BASE_DIR) / "static" / "js" / "door-sw.js"


def scan_result_json(result: ScanResult) -> dict[str, Any]:
    return result.as_json()


def _error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def _json_body(request: HttpRequest) -> dict[str, Any] | None:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


@dataclass(frozen=True)
class Door:
    """Who is scanning, at which list, and where the page's JSON endpoints are."""

    checkin_list: CheckinList
    user: User | None
    link: DeviceLink | None
    base_url: str

    @property
    def event(self) -> Event:
        return self.checkin_list.event


def _member_door(request: AuthedRequest, event_id: Any, list_id: Any = None) -> Door:
    event = event_for_door(request.user, event_id)
    checkin_list = checkin_list_of_event(event, list_id) if list_id else checkin_list_default(event)
    base = reverse("checkin:scanner", args=[event.pk])
    return Door(checkin_list, request.user, None, base)


def _link_door(token: str) -> Door:
    link = device_link_for_token(token)
    return Door(link.checkin_list, None, link, reverse("checkin:link_scanner", args=[token]))


# --- The scanner page and its JSON --------------------------------------------------------------


def _door_view(handler: Any) -> Any:
    """The service re-checks access in the query that decides a scan: its NotFound is a 404."""

    @wraps(handler)
    def view(*args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return handler(*args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.detail_message) from exc

    return view


@_door_view
def _scanner_page(request: HttpRequest, door: Door) -> HttpResponse:
    result = None
    if request.method == "POST":
        result = ticket_scan(
            payload=request.POST.get("payload", ""),
            checkin_list=door.checkin_list,
            scanned_by=door.user,
            device_link=door.link,
            device_id="web-form",
            direction="out" if request.POST.get("direction") == "out" else "in",
        )
    lists = [] if door.link else list(door.event.checkin_lists.all())
    # Looking guests up by name is for staff signed in as members: a device link is an
    # anonymous phone at the gate and gets no list of names and emails.
    query = request.GET.get("guest", "").strip()[:100] if door.user is not None else ""
    return render(
        request,
        "checkin/scanner.html",
        {
            "event": door.event,
            "checkin_list": door.checkin_list,
            "lists": lists,
            "door": door,
            "result": result,
            "counts": checkin_list_counts(door.checkin_list),
            "guest_query": query,
            "guests": door_guests_find(door.checkin_list, query) if query else None,
        },
    )


@_door_view
def _scan(request: HttpRequest, door: Door) -> JsonResponse:
    body = _json_body(request)
    if body is None:
        return _error("MALFORMED_JSON", "Send a JSON object.", 400)
    result = ticket_scan(
        payload=str(body.get("payload", "")),
        checkin_list=door.checkin_list,
        scanned_by=door.user,
        device_link=door.link,
        device_id=str(body.get("device_id", "")),
        direction="out" if body.get("direction") == "out" else "in",
    )
    return JsonResponse(scan_result_json(result))


def _offline_scan(item: Any) -> OfflineScan:
    """One queued scan from a device; ValueError/TypeError/KeyError when it is not one."""
    scanned_at = datetime.fromisoformat(str(item["scanned_at"]).replace("Z", "+00:00"))
    if timezone.is_naive(scanned_at):
        raise ValueError("scanned_at needs a time zone")
    return OfflineScan(
        client_scan_id=UUID(str(item["client_scan_id"])),
        payload=str(item.get("payload", ""))[:1000],
        scanned_at=scanned_at,
        direction="out" if item.get("direction") == "out" else "in",
        local_result=str(item.get("local_result", ""))[:15],
    )


@_door_view
def _sync(request: HttpRequest, door: Door) -> JsonResponse:
    body = _json_body(request)
    if body is None or not isinstance(body.get("scans"), list):
        return _error("MALFORMED_JSON", "Send {scans: [...]}.", 400)
    if len(body["scans"]) > 1000:
        return _error("VALIDATION_ERROR", "At most 1,000 scans per request.", 422)
    scans, invalid = [], []
    for item in body["scans"]:
        try:
            scans.append(_offline_scan(item))
        except (ValueError, TypeError, KeyError, AttributeError):
            # Reported so the device drops it; one broken entry must not block the queue.
            ident = item.get("client_scan_id") if isinstance(item, dict) else None
            invalid.append({"client_scan_id": str(ident), "error": "VALIDATION_ERROR"})
    results = scans_sync(
        checkin_list=door.checkin_list,
        scans=scans,
        scanned_by=door.user,
        device_link=door.link,
        device_id=str(body.get("device_id", ""))[:64],
    )
    return JsonResponse(
        {
            "results": [
                {"client_scan_id": key, **result.as_json(), **result.extra}
                for key, result in results.items()
            ],
            "invalid": invalid,
            "counts": checkin_list_counts(door.checkin_list),
        }
    )


def _bundle(door: Door) -> JsonResponse:
    if door.link is not None:
        DeviceLink.objects.filter(pk=door.link.pk).update(last_seen_at=timezone.now())
    response = JsonResponse(checkin_bundle(door.checkin_list))
    response["Cache-Control"] = "no-store"
    return response


def _stats(door: Door) -> JsonResponse:
    response = JsonResponse(checkin_list_counts(door.checkin_list))
    response["Cache-Control"] = "no-store"
    return response


@login_required
def door_events(request: AuthedRequest) -> HttpResponse:
    events = events_for_door(request.user).prefetch_related("checkin_lists")
    return render(request, "checkin/door_events.html", {"events": events})


@login_required
def scanner(request: AuthedRequest, event_id: Any) -> HttpResponse:
    """The door page. Works without JavaScript (typed code form); JS adds the camera."""
    return _scanner_page(request, _member_door(request, event_id, request.GET.get("list")))


@login_required
@require_POST
@_door_view
def admit_guest(request: AuthedRequest, event_id: Any) -> HttpResponse:
    """Admit a guest found by name: the same admission as a scan, audited; back to the search."""
    door = _member_door(request, event_id, request.POST.get("list"))
    try:
        ticket_id = UUID(request.POST.get("ticket", ""))
    except ValueError:
        raise Http404("No such ticket.") from None
    result = ticket_admit_manually(
        ticket_id=ticket_id, checkin_list=door.checkin_list, actor=request.user
    )
    who = " · ".join(p for p in (result.attendee_name, result.tier, result.seat) if p)
    if result.valid:
        messages.success(request, (_("Admitted: %(who)s.") % {"who": who}))
    else:
        messages.error(
            request,
            (
                _("Not admitted: %(message)s %(who)s") % {"message": result.message, "who": who}
            ).strip(),
        )
    query = urlencode({"list": door.checkin_list.pk, "guest": request.POST.get("guest", "")})
    return redirect(f"{reverse('checkin:scanner', args=[door.event.pk])}?{query}#guests")


@login_required
@require_POST
def scan_json(request: AuthedRequest, event_id: Any) -> JsonResponse:
    """What the scanner page's JavaScript calls for each code it reads."""
    return _scan(request, _member_door(request, event_id, request.GET.get("list")))


@login_required
@require_POST
def sync_json(request: AuthedRequest, event_id: Any) -> JsonResponse:
    return _sync(request, _member_door(request, event_id, request.GET.get("list")))


@login_required
@require_GET
def bundle_json(request: AuthedRequest, event_id: Any) -> JsonResponse:
    return _bundle(_member_door(request, event_id, request.GET.get("list")))


@login_required
@require_GET
def stats_json(request: AuthedRequest, event_id: Any) -> JsonResponse:
    return _stats(_member_door(request, event_id, request.GET.get("list")))


def _revoked_link_page(request: HttpRequest) -> HttpResponse:
    return render(request, "checkin/link_revoked.html", status=DeviceLinkRevoked.status)


@csrf_exempt
def link_scanner(request: HttpRequest, token: str) -> HttpResponse:
    try:
        door = _link_door(token)
    except DeviceLinkRevoked:
        return _revoked_link_page(request)
    return _scanner_page(request, door)


def _link_json(handler: Any) -> Any:
    def view(request: HttpRequest, token: str) -> JsonResponse:
        try:
            door = _link_door(token)
        except DeviceLinkRevoked as exc:
            return JsonResponse(exc.as_dict(), status=exc.status)
        return handler(request, door)

    return csrf_exempt(view)


link_scan_json = require_POST(_link_json(_scan))
link_sync_json = require_POST(_link_json(_sync))
link_bundle_json = require_GET(_link_json(lambda request, door: _bundle(door)))
link_stats_json = require_GET(_link_json(lambda request, door: _stats(door)))


@never_cache
def service_worker(request: HttpRequest) -> HttpResponse:
    """The scanner's service worker, served from /door/ so that its scope covers every door."""
    response = HttpResponse(SERVICE_WORKER.read_bytes(), content_type="text/javascript")
    response["Service-Worker-Allowed"] = "/door/"
    return response


# --- Organizer pages ----------------------------------------------------------------------------


def _manage_context(event: Event, **extra: Any) -> dict[str, Any]:
    lists = list(event.checkin_lists.prefetch_related("tiers"))
    return {
        "event": event,
        "lists": lists,
        "list_forms": [
            (
                checkin_list,
                CheckinListForm(
                    event=event,
                    prefix=f"l{checkin_list.pk.hex[:8]}",
                    initial={
                        "name": checkin_list.name,
                        "tiers": list(checkin_list.tiers.all()),
                        "allow_reentry": checkin_list.allow_reentry,
                    },
                ),
            )
            for checkin_list in lists
        ],
        "new_list_form": extra.pop("new_list_form", None) or CheckinListForm(event=event),
        "link_form": extra.pop("link_form", None) or DeviceLinkForm(event=event),
        "links": DeviceLink.objects.filter(checkin_list__event=event).select_related(
            "checkin_list"
        ),
        "keys": SigningKey.objects.filter(event=event).order_by("-created_at"),
        **extra,
    }


@login_required
def manage_checkin(request: AuthedRequest, event_id: Any) -> HttpResponse:
    """Lists, device links and signing keys of one event."""
    event = event_managed_by(request.user, event_id)
    checkin_list_default(event)  # every event can be scanned from the start
    return render(request, "checkin/manage.html", _manage_context(event))


@login_required
@require_POST
def manage_list_create(request: AuthedRequest, event_id: Any) -> HttpResponse:
    event = event_managed_by(request.user, event_id)
    form = CheckinListForm(request.POST, event=event)
    if form.is_valid():
        try:
            checkin_list_create(
                event=event,
                actor=request.user,
                name=form.cleaned_data["name"],
                tier_ids=[t.pk for t in form.cleaned_data["tiers"]],
                allow_reentry=form.cleaned_data["allow_reentry"],
            )
        except ListNameTaken as exc:
            form.add_error("name", exc.detail_message)
        else:
            messages.success(request, _("Check-in list created."))
            return redirect("checkin:manage", event.pk)
    context = _manage_context(event, new_list_form=form)
    return render(request, "checkin/manage.html", context, status=422)


@login_required
@require_POST
def manage_list_update(request: AuthedRequest, event_id: Any, list_id: Any) -> HttpResponse:
    event = event_managed_by(request.user, event_id)
    checkin_list = checkin_list_of_event(event, list_id)
    form = CheckinListForm(request.POST, event=event, prefix=f"l{checkin_list.pk.hex[:8]}")
    form.fields["name"].required = False
    if not form.is_valid():
        return render(request, "checkin/manage.html", _manage_context(event), status=422)
    checkin_list_update(
        checkin_list=checkin_list,
        actor=request.user,
        tier_ids=[t.pk for t in form.cleaned_data["tiers"]],
        allow_reentry=form.cleaned_data["allow_reentry"],
    )
    messages.success(request, (_("%(name)s saved.") % {"name": checkin_list.name}))
    return redirect("checkin:manage", event.pk)


@login_required
@require_POST
def manage_link_create(request: AuthedRequest, event_id: Any) -> HttpResponse:
    event = event_managed_by(request.user, event_id)
    form = DeviceLinkForm(request.POST, event=event)
    if not form.is_valid():
        context = _manage_context(event, link_form=form)
        return render(request, "checkin/manage.html", context, status=422)
    link, token = device_link_create(
        checkin_list=form.cleaned_data["checkin_list"],
        actor=request.user,
        label=form.cleaned_data["label"],
    )
    url = request.build_absolute_uri(reverse("checkin:link_scanner", args=[token]))
    # The token is not stored: this page is the only time the link is shown.
    context = _manage_context(event, new_link=link, new_link_url=url, new_link_qr=qr_svg(url))
    response = render(request, "checkin/manage.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def manage_link_revoke(request: AuthedRequest, event_id: Any, link_id: Any) -> HttpResponse:
    event = event_managed_by(request.user, event_id)
    link = DeviceLink.objects.filter(checkin_list__event=event, pk=link_id).first()
    if link is None:
        raise Http404("No such link")
    device_link_revoke(link=link, actor=request.user)
    messages.success(
        request, (_("Link for %(label)s revoked; it stops working now.") % {"label": link.label})
    )
    return redirect("checkin:manage", event.pk)


@login_required
@require_POST
def manage_key_rotate(request: AuthedRequest, event_id: Any) -> HttpResponse:
    event = event_managed_by(request.user, event_id)
    key = signing_key_rotate(event=event, actor=request.user)
    messages.success(
        request, (_("New signing key %(kid)s; earlier tickets keep working.") % {"kid": key.kid})
    )
    return redirect("checkin:manage", event.pk)


@login_required
@require_POST
def manage_key_revoke(request: AuthedRequest, event_id: Any, kid: str) -> HttpResponse:
    event = event_managed_by(request.user, event_id)
    key = SigningKey.objects.filter(event=event, kid=kid).first()
    if key is None:
        raise Http404("No such key")
    try:
        resigned = signing_key_revoke(key=key, actor=request.user)
    except KeyInUse as exc:
        messages.error(request, exc.detail_message)
    else:
        messages.success(
            request,
            (
                _("Key %(kid)s revoked; %(resigned)s tickets were re-issued with the current key.")
                % {"kid": kid, "resigned": resigned}
            ),
        )
    return redirect("checkin:manage", event.pk)


# --- Live attendance ----------------------------------------------------------------------------


def _scan_rows(event: Event, show: str, list_id: str | None) -> list[dict[str, Any]]:
    rows = []
    for scan in scan_log(event, show=show, list_id=list_id)[:50]:
        ticket = scan.ticket
        rows.append(
            {
                "id": str(scan.pk),
                "scanned_at": timezone.localtime(scan.scanned_at, event.tz).strftime("%H:%M:%S"),
                "list": scan.checkin_list.name,
                "direction": scan.direction,
                "result": scan.result,
                "reason": scan.reason,
                "attendee": ticket.attendee_name if ticket else "",
                "tier": ticket.tier.name if ticket else "",
                "device": scan.device_link.label if scan.device_link else scan.device_id,
                "by": scan.scanned_by.email if scan.scanned_by else "",
                "offline": scan.client_scan_id is not None,
                "conflict": scan.conflict,
                "conflict_with": str(scan.conflict_with_id or ""),
            }
        )
    return rows


def _show(request: HttpRequest) -> str:
    show = request.GET.get("show", "all")
    return show if show in SCAN_FILTERS else "all"


@login_required
def attendance_page(request: AuthedRequest, event_id: Any) -> HttpResponse:
    """Admitted / expected per list and tier, and the scan log; the page polls the JSON below."""
    event = event_managed_by(request.user, event_id)
    show, list_id = _show(request), request.GET.get("list") or None
    return render(
        request,
        "checkin/attendance.html",
        {
            "event": event,
            "figures": attendance(event),
            "scans": _scan_rows(event, show, list_id),
            "show": show,
            "filters": list(SCAN_FILTERS),
            "list_id": list_id or "",
        },
    )


@login_required
@require_GET
def attendance_json(request: AuthedRequest, event_id: Any) -> HttpResponse:
    """The same figures as JSON, with an ETag: a poll that finds nothing new costs a 304."""
    event = event_managed_by(request.user, event_id)
    show, list_id = _show(request), request.GET.get("list") or ""
    etag = f'"{attendance_version(event)}-{show}-{list_id}"'
    if request.headers.get("If-None-Match") == etag:
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = JsonResponse(
            {**attendance(event), "scans": _scan_rows(event, show, list_id or None)}
        )
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response


def manifest(request: HttpRequest) -> JsonResponse:
    """The scanner's web app manifest; it starts where it was installed from (a door page)."""
    start = request.GET.get("start", "/door/")
    if not start.startswith("/door/") or "//" in start or "\\" in start:
        start = "/door/"
    response = JsonResponse(
        {
            "name": "Boxoffice door scanner",
            "short_name": "Door",
            "start_url": start,
            "scope": "/door/",
            "display": "standalone",
            "orientation": "portrait",
            "background_color": "#ffffff",
            "theme_color": "#1f3a93",
            "icons": [
                {"src": static("img/door-192.png"), "sizes": "192x192", "type": "image/png"},
                {"src": static("img/door-512.png"), "sizes": "512x512", "type": "image/png"},
                {
                    "src": static("img/door-512.png"),
                    "sizes": "512x512",
                    "type": "image/png",
                    "purpose": "maskable",
                },
            ],
        },
        content_type="application/manifest+json",
    )
    return response
