from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from accounts.selectors import audit_trail, organizations_owned_by
from accounts.services import (
    oauth_integration_create,
    oauth_integration_revoke,
    organization_logo_set,
    organization_require_mfa,
)
from accounts.signin_guard import signin_unlock
from core.errors import NotFound
from core.http import AuthedRequest, client_ip
from core.images import image_upload_check


@require_http_methods(["GET", "POST"])
def unlock(request: HttpRequest) -> HttpResponse:
    """The emailed link: a GET shows a button (mail scanners follow links), the POST unlocks."""
    token = request.GET.get("token", "")
    if request.method == "POST":
        if signin_unlock(request.POST.get("token", "")) is None:
            return render(request, "accounts/unlock.html", {"invalid": True}, status=400)
        messages.success(request, _("Your account is unlocked. You can sign in again."))
        return redirect("account_login")
    return render(request, "accounts/unlock.html", {"token": token})


class AuditFilter(forms.Form):
    organization: "forms.ModelChoiceField[Any]" = forms.ModelChoiceField(
        queryset=None, required=False, empty_label=_("All"), label=_("Organization")
    )
    action = forms.CharField(
        required=False, max_length=64, help_text=_("e.g. order. or signin"), label=_("Action")
    )
    since = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label=_("Since")
    )
    until = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label=_("Until")
    )

    def __init__(self, *args: Any, organizations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations  # type: ignore[attr-defined]


@login_required
def audit_trail_page(request: AuthedRequest) -> HttpResponse:
    """An owner's view of their organizations' audit trail, with filters."""
    owned = organizations_owned_by(request.user)
    if not owned.exists():
        raise PermissionDenied
    form = AuditFilter(request.GET or None, organizations=owned)
    filters: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {
            "organization_id": data["organization"].pk if data["organization"] else None,
            "action": data["action"],
            "since": data["since"],
            "until": data["until"],
        }
    page = Paginator(audit_trail(request.user, **filters), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accounts/audit_trail.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def organization_security(request: AuthedRequest, organization_id: str) -> HttpResponse:
    """The owner decides whether managers need a second factor."""
    organization = get_object_or_404(organizations_owned_by(request.user), pk=organization_id)
    if request.method == "POST":
        organization_require_mfa(
            actor=request.user,
            organization=organization,
            required=request.POST.get("require_mfa_for_managers") == "on",
        )
        messages.success(request, _("Saved."))
        return redirect("accounts:organization_security", organization_id=organization.pk)
    return render(request, "accounts/organization_security.html", {"organization": organization})


class LogoForm(forms.Form):
    logo = forms.ImageField(
        required=False,
        label=_("New logo"),
        validators=[image_upload_check],
        help_text=_("JPEG, PNG or WebP up to 10 MB; a square picture of 400 pixels or more."),
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )


@login_required
@require_http_methods(["GET", "POST"])
def organization_logo(request: AuthedRequest, organization_id: str) -> HttpResponse:
    """The owner uploads, replaces or removes the organization's logo."""
    organization = get_object_or_404(organizations_owned_by(request.user), pk=organization_id)
    form = LogoForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if "remove" in request.POST and organization.logo:
            organization_logo_set(actor=request.user, organization=organization, image=None)
            messages.success(request, _("The logo was removed."))
            return redirect("accounts:organization_logo", organization_id=organization.pk)
        if form.is_valid() and form.cleaned_data["logo"]:
            organization_logo_set(
                actor=request.user, organization=organization, image=form.cleaned_data["logo"]
            )
            messages.success(request, _("The logo was saved."))
            return redirect("accounts:organization_logo", organization_id=organization.pk)
        if form.is_valid():
            form.add_error("logo", _("Choose a picture to upload."))
    return render(
        request,
        "accounts/organization_logo.html",
        {"organization": organization, "form": form},
        status=422 if form.errors else 200,
    )


class IntegrationForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What the server is, e.g. “Badge printer” or “CRM sync”."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def organization_integrations(request: AuthedRequest, organization_id: str) -> HttpResponse:
    """The owner registers the organization's own servers as OAuth2 clients (client
    credentials) and ends them; a new secret is shown on this one answer only."""
    organization = get_object_or_404(organizations_owned_by(request.user), pk=organization_id)
    form = IntegrationForm(request.POST if "create" in request.POST else None)
    created: dict[str, str] | None = None
    if request.method == "POST" and "revoke" in request.POST:
        try:
            oauth_integration_revoke(
                owner=request.user,
                organization=organization,
                integration_id=int(request.POST["revoke"]),
                address=client_ip(request),
            )
        except (NotFound, ValueError):
            messages.error(request, _("That integration does not exist any more."))
        else:
            messages.success(request, _("The integration was ended; its tokens no longer work."))
        return redirect("accounts:organization_integrations", organization_id=organization.pk)
    if form.is_valid():
        integration, secret = oauth_integration_create(
            owner=request.user,
            organization=organization,
            name=form.cleaned_data["name"],
            address=client_ip(request),
        )
        created = {"client_id": integration.application.client_id, "secret": secret}
        form = IntegrationForm()
    integrations = organization.oauth_integrations.select_related("application").order_by(
        "-created_at"
    )
    response = render(
        request,
        "accounts/organization_integrations.html",
        {
            "organization": organization,
            "form": form,
            "created": created,
            "integrations": integrations,
            "token_url": request.build_absolute_uri("/o/token/"),
        },
        status=422 if form.errors else 200,
    )
    if created:
        response["Cache-Control"] = "no-store"  # the secret must not stay in any cache
    return response
