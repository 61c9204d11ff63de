"""Email: HTML + plain text, attachments, a stable Message-ID and List-Unsubscribe."""

import contextlib
import smtplib
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from notifications.channels import DeliveryFailed


def email_build(
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None,
    attachments: Sequence[tuple[str, bytes, str]] = (),
    headers: dict[str, str] | None = None,
) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=[to],
        from_email=settings.DEFAULT_FROM_EMAIL,
        headers=headers or {},
    )
    if html:
        message.attach_alternative(html, "text/html")
    for name, content, mime in attachments:
        message.attach(name, content, mime)
    return message


def _smtp_code(exc: Exception) -> int | None:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return int(codes[0]) if codes else None
    code = getattr(exc, "smtp_code", None)
    return int(code) if code else None


class Mailer:
    """One SMTP connection reused for a batch of messages, reopened after a failure."""

    def __init__(self) -> None:
        self.connection: Any = get_connection()

    def send(self, message: EmailMultiAlternatives) -> int:
        """Send; 250 when the server took it. Raise DeliveryFailed (4xx/network: retryable)."""
        message.connection = self.connection
        try:
            self.connection.open()  # kept open across the batch: send_messages closes only its own
            self.connection.send_messages([message])
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            code = _smtp_code(exc)
            # 5xx is a permanent refusal (no such mailbox); 4xx and a dropped line are temporary.
            retryable = code is None or code < 500
            raise DeliveryFailed(
                f"{type(exc).__name__}: {exc}", retryable=retryable, code=code
            ) from exc
        return 250

    def close(self) -> None:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            self.connection.close()
        self.connection = get_connection()
