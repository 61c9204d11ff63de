"""allauth's account mail (confirm your address, reset your password), sent from Celery.

It lives with the rest of the mail: accounts knows nothing of how mail goes out.
"""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django import forms
from django.db import transaction
from django.http import HttpRequest

from accounts.signin_guard import SignInThrottled, signin_check, signin_failed
from core.http import client_ip
from notifications.tasks import send_rendered_email


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Render allauth's mail now (it needs the request), send it from Celery after commit."""
        message = self.render_mail(template_prefix, email, context)
        html = next(
            (c for c, mime in getattr(message, "alternatives", []) if mime == "text/html"), None
        )
        payload = {
            "subject": message.subject,
            "body": message.body,
            "to": list(message.to),
            "html": html,
        }
        transaction.on_commit(lambda: send_rendered_email.delay(**payload))

    def get_client_ip(self, request: HttpRequest) -> str:
        """allauth's own limits (signup, password reset) count the same address we do."""
        return client_ip(request)

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        # Our per-account + per-address guard replaces allauth's `login_failed` limit (turned off
        # in ACCOUNT_RATE_LIMITS), so the page and the API share one policy and one lock.
        try:
            signin_check(email=str(credentials.get("email", "")), address=client_ip(request))
        except SignInThrottled as exc:
            raise forms.ValidationError(exc.detail_message, code="too_many_login_attempts") from exc

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        signin_failed(email=str(credentials.get("email", "")), address=client_ip(request))
