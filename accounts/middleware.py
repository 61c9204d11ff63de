"""Who must have a second factor before using what.

Admins always (the Django admin), and managers and owners of an organization whose owner
asked for it (its organizer pages). Without an authenticator they are sent to set one up; the
MFA pages themselves, sign-out and static files stay reachable.
"""

from collections.abc import Callable
from typing import Any

from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership
from accounts.selectors import user_roles

GUARDED_PREFIXES = ("/admin/", "/manage/")
FREE_PREFIXES = ("/accounts/", "/static/", "/account/")
SECOND_FACTORS = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)


def has_second_factor(user: Any) -> bool:
    return Authenticator.objects.filter(user=user, type__in=SECOND_FACTORS).exists()


def mfa_required(user: Any, path: str) -> bool:
    """Must `user` have a second factor before opening `path`?"""
    if path.startswith("/admin/"):
        return bool(getattr(user, "is_staff", False))
    roles = user_roles(user)
    return any(roles.get(role, False) for role in Membership.MANAGING_ROLES)


class RequireMfaMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        if (
            path.startswith(GUARDED_PREFIXES)
            and not path.startswith(FREE_PREFIXES)
            and request.user.is_authenticated
            and mfa_required(request.user, path)
            and not has_second_factor(request.user)
        ):
            messages.warning(
                request, _("Set up two-factor authentication before you continue: it is required.")
            )
            return redirect("mfa_index")
        return self.get_response(request)
