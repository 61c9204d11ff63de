"""Bearer-token authentication for every app's API router: personal tokens and OAuth2 tokens.

Authentication also decides authorization by scope, from the one table in accounts/scopes.py:
a good token without the route's scope is answered 403 INSUFFICIENT_SCOPE.
"""

import hashlib

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer
from oauth2_provider.models import AccessToken

from accounts.errors import InsufficientScope
from accounts.models import User
from accounts.oauth import integration_of
from accounts.scopes import API_ROUTE_SCOPES
from accounts.services import TokenGrant, api_token_grant

PERSONAL_TOKEN_PREFIX = "bo_"  # noqa: S105 - how personal tokens begin, not a secret


def oauth_token_grant(token: str) -> TokenGrant | None:
    """Who an OAuth2 access token acts as (the person, or for client credentials the
    organization's integration user) and its scopes; None when unknown or expired."""
    # django-oauth-toolkit stores only the SHA-256 of a token (RFC 9700 storage).
    checksum = hashlib.sha256(token.encode()).hexdigest()
    access = (
        AccessToken.objects.select_related("user", "application__integration__service_user")
        .filter(token_checksum=checksum, expires__gt=timezone.now())
        .first()
    )
    if access is None:
        return None
    user: User | None = access.user
    if user is None:  # client credentials: the organization's integration acts
        integration = integration_of(access.application)
        user = integration.service_user if integration is not None else None
    if user is None or not user.is_active:
        return None
    return TokenGrant(user, frozenset(access.scope.split()))


def token_grant(token: str) -> TokenGrant | None:
    if token.startswith(PERSONAL_TOKEN_PREFIX):
        return api_token_grant(token)
    return oauth_token_grant(token)


def required_scope(request: HttpRequest) -> str | None:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return None
    return API_ROUTE_SCOPES.get(f"{request.method} {match.view_name}")


class BearerAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        grant = token_grant(token)
        if grant is None:
            return None
        needed = required_scope(request)
        # A route missing from the table is refused to every token, never opened to all.
        if needed is None or needed not in grant.scopes:
            raise InsufficientScope(required=needed)
        request.user = grant.user
        return grant.user


bearer = BearerAuth()
