"""allauth's account mail (confirm your address, reset your password), sent from Celery.

It lives with the rest of the mail: accounts knows nothing of how mail goes out.
"""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.db import transaction

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
