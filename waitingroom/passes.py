"""Who a visitor is to the room, and the signed, expiring pass that lets them book.

A visitor is their account when logged in (one place per account, whichever device) and else
their session (one place per browser). The pass names the event and the visitor, is signed
with WAITINGROOM_SIGNING_KEY (SECRET_KEY when unset) and expires: only the account or session
it was issued to can use it, and only for that event.
"""

import hashlib
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import HttpRequest
from django.http.cookie import parse_cookie

PASS_SALT = "waitingroom.pass"  # noqa: S105 - a salt, not a secret
VISITOR_SALT = "waitingroom.visitor"
PASS_HEADER = "HTTP_X_QUEUE_TOKEN"  # noqa: S105 - a header name


def _key() -> str:
    return str(getattr(settings, "WAITINGROOM_SIGNING_KEY", "") or settings.SECRET_KEY)


def pass_cookie(event_id: Any) -> str:
    return f"bo_queue_pass_{event_id}"


def visitor_cookie(event_id: Any) -> str:
    return f"bo_queue_{event_id}"


def identities(request: HttpRequest) -> set[str]:
    """Every visitor id the request may act as: its account and its browser session."""
    found = set()
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        found.add(f"u:{user.pk}")
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        found.add("s:" + hashlib.sha256(session.session_key.encode()).hexdigest()[:24])
    return found


def visitor_of(request: HttpRequest) -> str:
    """The id a new arrival queues under (the account if logged in, else a session it gets)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"u:{user.pk}"
    if not request.session.session_key:
        request.session.save()
    return "s:" + hashlib.sha256(str(request.session.session_key).encode()).hexdigest()[:24]


def visitor_token(event_id: Any, visitor: str) -> str:
    """What the visitor cookie holds, so a poll knows its visitor without a session lookup."""
    return signing.dumps([str(event_id), visitor], key=_key(), salt=VISITOR_SALT)


def visitor_from_token(event_id: Any, token: str | None) -> str | None:
    if not token:
        return None
    try:
        event, visitor = signing.loads(token, key=_key(), salt=VISITOR_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    return str(visitor) if event == str(event_id) else None


def pass_issue(event_id: Any, visitor: str) -> str:
    return signing.dumps([str(event_id), visitor], key=_key(), salt=PASS_SALT)


def pass_holder(token: str | None, event_id: Any, *, max_age_s: int) -> str | None:
    """The visitor a pass was issued to, if it is genuine, for this event and not expired."""
    if not token:
        return None
    try:
        event, visitor = signing.loads(token, key=_key(), salt=PASS_SALT, max_age=max_age_s)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    return str(visitor) if event == str(event_id) else None


def request_pass(request: HttpRequest, event_id: Any) -> str | None:
    return environ_pass(request.META, event_id)


def environ_pass(environ: Mapping[str, Any], event_id: Any) -> str | None:
    """The pass a request carries (header first, then cookie), read from its WSGI environ, so a
    fast lane in front of Django reads exactly what the view reads."""
    return environ.get(PASS_HEADER) or parse_cookie(environ.get("HTTP_COOKIE", "")).get(
        pass_cookie(event_id)
    )
