"""A person's privacy page (export, consent, erasure) and an owner's retention page."""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.selectors import organizations_owned_by
from core.errors import DomainError
from core.http import AuthedRequest, client_ip
from notifications.models import MarketingConsent
from notifications.preferences import (
    MARKETING_CONSENT_WORDING,
    marketing_consent_current,
    marketing_consent_set,
)
from privacy.erasure import account_erase
from privacy.exports import export_download, export_link, export_request
from privacy.models import DataExport
from privacy.retention import retention_days, retention_policy_set
from privacy.selectors import exports_of, retention_runs_of


def _export_json(export: DataExport) -> dict[str, Any]:
    return {
        "id": str(export.pk),
        "status": export.status,
        "progress": export.progress,
        "download_url": export_link(export) if export.status == DataExport.Status.READY else None,
    }


@login_required
@require_GET
def privacy_home(request: AuthedRequest) -> HttpResponse:
    """Download your data, marketing consent, erase your account."""
    exports = exports_of(request.user)
    return render(
        request,
        "privacy/home.html",
        {
            "exports": [(e, _export_json(e)) for e in exports],
            "consent": marketing_consent_current(request.user),
            "consent_wording": _(MARKETING_CONSENT_WORDING),
        },
    )


@login_required
@require_POST
def export_start(request: AuthedRequest) -> HttpResponse:
    export_request(user=request.user, ip=client_ip(request))
    messages.success(request, _("Your export is being prepared. We will also mail you the link."))
    return redirect("privacy:home")


@login_required
@require_GET
def export_status(request: AuthedRequest, export_id: str) -> JsonResponse:
    """What the page polls while the export is built."""
    export = get_object_or_404(exports_of(request.user), pk=export_id)
    return JsonResponse(_export_json(export))


@login_required
@require_GET
def export_file(request: AuthedRequest, export_id: str) -> HttpResponse:
    """The zip behind a signed, unexpired link; only for the person it belongs to."""
    try:
        export = export_download(
            user=request.user,
            export_id=export_id,
            token=request.GET.get("t", ""),
            ip=client_ip(request),
        )
    except DomainError as exc:
        return render(
            request, "privacy/export_invalid.html", {"error": exc.detail_message}, status=exc.status
        )
    response = HttpResponse(bytes(export.archive or b""), content_type="application/zip")
    name = f"boxoffice-data-{export.created_at:%Y-%m-%d}.zip"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def consent_update(request: AuthedRequest) -> HttpResponse:
    given = request.POST.get("marketing") == "on"
    marketing_consent_set(
        user=request.user,
        given=given,
        source=MarketingConsent.Source.SETTINGS_PAGE,
        ip=client_ip(request),
    )
    messages.success(request, _("Saved."))
    return redirect("privacy:home")


class EraseForm(forms.Form):
    email = forms.EmailField(
        label=gettext_lazy("Type your email address to confirm"),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if email != self.user.email.lower():
            raise forms.ValidationError(_("This is not the address of your account."))
        return email


@login_required
@require_http_methods(["GET", "POST"])
def erase(request: AuthedRequest) -> HttpResponse:
    """Confirm, then erase: the answer page says what happened to each future ticket."""
    form = EraseForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            erasure = account_erase(user=request.user, ip=client_ip(request))
        except DomainError as exc:
            form.add_error(None, exc.detail_message)
        else:
            logout(request)
            return render(request, "privacy/erased.html", {"outcomes": erasure.outcomes})
    status = 422 if request.method == "POST" else 200
    return render(request, "privacy/erase.html", {"form": form}, status=status)


class RetentionForm(forms.Form):
    days = forms.IntegerField(
        label=gettext_lazy("Keep attendee data for this many days after an event ends"),
        min_value=1,
        max_value=3650,
    )


@login_required
@require_http_methods(["GET", "POST"])
def organization_retention(request: AuthedRequest, organization_id: str) -> HttpResponse:
    """An owner sets the retention period and reads what retention did."""
    organization = get_object_or_404(organizations_owned_by(request.user), pk=organization_id)
    form = RetentionForm(request.POST or None, initial={"days": retention_days(organization)})
    if request.method == "POST" and form.is_valid():
        retention_policy_set(
            actor=request.user, organization=organization, days=form.cleaned_data["days"]
        )
        messages.success(request, _("Saved."))
        return redirect("privacy:organization_retention", organization_id=organization.pk)
    return render(
        request,
        "privacy/retention.html",
        {
            "organization": organization,
            "form": form,
            "runs": retention_runs_of(organization)[:50],
        },
        status=422 if request.method == "POST" else 200,
    )
