"""Boxoffice as an OAuth2 / OpenID Connect provider (django-oauth-toolkit), made ours:

- which scopes an app may ask for: API scopes to every app, identity scopes to apps that sign
  people in, API scopes to a client-credentials app only when an organization owns it;
- what Boxoffice tells an app about a person (userinfo and the ID token);
- every grant, issued token and revocation written to the audit trail in the same transaction.
"""

import hashlib
from typing import Any
from urllib.parse import urlsplit

from allauth.account.models import EmailAddress
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from oauth2_provider.models import AccessToken, Application, RefreshToken
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import SettingsScopes
from oauth2_provider.views import AuthorizationView, AuthorizedTokenDeleteView

from accounts.models import OAuthIntegration, User
from accounts.scopes import API_SCOPES, IDENTITY_SCOPES
from accounts.services import audit_record
from core.http import client_ip


def integration_of(application: Application | None) -> OAuthIntegration | None:
    if application is None:
        return None
    try:
        return application.integration
    except OAuthIntegration.DoesNotExist:
        return None


class BoxofficeScopes(SettingsScopes):
    def get_available_scopes(
        self, application: Application | None = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        if (
            application is not None
            and application.authorization_grant_type == Application.GRANT_CLIENT_CREDENTIALS
        ):
            # A server acts for its organization, never for a person: no identity scopes, and
            # nothing at all until an organization has taken the app on.
            return list(API_SCOPES) if integration_of(application) is not None else []
        return [*API_SCOPES, *IDENTITY_SCOPES]


class BoxofficeOAuth2Validator(OAuth2Validator):
    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        user: User = request.user
        return {
            "email": user.email,
            # Only what someone proved by following our confirmation link counts as verified.
            "email_verified": EmailAddress.objects.filter(
                user=user, email__iexact=user.email, verified=True
            ).exists(),
            "name": user.get_full_name() or user.email,
            "locale": getattr(user, "language", "") or "en",
        }

    def save_authorization_code(
        self, client_id: str, code: dict[str, Any], request: Any, *args: Any, **kwargs: Any
    ) -> None:
        with transaction.atomic():
            super().save_authorization_code(client_id, code, request, *args, **kwargs)
            audit_record(
                actor=request.user,
                action="oauth.grant",
                target=request.client,
                changes={"scopes": sorted(request.scopes), "application": request.client.name},
                ip=_address(request),
            )

    def save_bearer_token(
        self, token: dict[str, Any], request: Any, *args: Any, **kwargs: Any
    ) -> Any:
        with transaction.atomic():
            saved = super().save_bearer_token(token, request, *args, **kwargs)
            integration = integration_of(request.client)
            audit_record(
                actor=request.user if request.user is not None else None,
                action="oauth.token.issue",
                target=request.client,
                organization=integration.organization if integration else None,
                changes={
                    "grant_type": request.grant_type,
                    "scopes": str(token.get("scope", "")).split(),
                    "application": request.client.name,
                },
                ip=_address(request),
            )
        return saved

    def revoke_token(
        self, token: str, token_type_hint: str | None, request: Any, *args: Any, **kwargs: Any
    ) -> None:
        checksum = hashlib.sha256(token.encode()).hexdigest()
        application = request.client
        with transaction.atomic():
            known = AccessToken.objects.filter(
                token_checksum=checksum, application=application
            ).select_related("user")
            refresh = RefreshToken.objects.filter(
                token_checksum=checksum, application=application, revoked__isnull=True
            ).select_related("user")
            owners = [t.user for t in known] + [t.user for t in refresh]
            super().revoke_token(token, token_type_hint, request, *args, **kwargs)
            if owners or (application is not None and application.pk):
                integration = integration_of(application)
                audit_record(
                    actor=owners[0] if owners else None,
                    action="oauth.token.revoke",
                    target=application,
                    organization=integration.organization if integration else None,
                    changes={"found": bool(owners), "application": application.name},
                    ip=_address(request),
                )


def _address(request: Any) -> str | None:
    """The client's address: oauthlib's request carries a copy of Django's META."""
    meta = getattr(request, "headers", None) or {}
    carrier = HttpRequest()
    carrier.META = dict(meta)
    return client_ip(carrier) or None


class ConsentView(AuthorizationView):
    """The consent page. Its form answers with a redirect to the app, so the page's
    Content-Security-Policy lets the form go to that app's origin (Chromium checks `form-action`
    against where a form submission is redirected, too)."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse = super().get(request, *args, **kwargs)
        redirect_uri = request.GET.get("redirect_uri", "")
        parts = urlsplit(redirect_uri)
        refused = (getattr(response, "context_data", None) or {}).get("error")
        if (
            response.status_code == 200
            and not refused
            and parts.scheme in {"http", "https"}
            and parts.netloc
        ):
            response._csp_update = {"form-action": [f"{parts.scheme}://{parts.netloc}"]}  # type: ignore[attr-defined]
        return response


class WithdrawAppView(AuthorizedTokenDeleteView):
    """A person withdraws an app's access from their authorized apps; the trail records it."""

    def form_valid(self, form: Any) -> HttpResponse:
        token = self.object
        with transaction.atomic():
            response: HttpResponse = super().form_valid(form)
            audit_record(
                actor=token.user,
                action="oauth.token.revoke",
                target=token.application,
                changes={"found": True, "application": token.application.name, "by": "user"},
                ip=client_ip(self.request),
            )
        return response
