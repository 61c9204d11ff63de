"""Errors to Sentry when SENTRY_DSN is set (web and Celery), tagged with the request id."""

import os
from typing import Any


def _with_request_id(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    from ops.context import request_id

    current = request_id.get()
    if current:
        event.setdefault("tags", {})["request_id"] = current
    return event


def sentry_init(dsn: str, *, environment: str) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        traces_sample_rate=float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0")),
        send_default_pii=False,  # attendees' emails and names stay out of a third party
        before_send=_with_request_id,  # type: ignore[arg-type]
    )
