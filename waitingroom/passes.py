"""Who a visitor is to the room, and the signed, expiring pass that lets them book.

A visitor is their account when logged in (one place per account, whichever device) and else
their browser (one place per browser): a random id the server signs into the visitor cookie,
so an arrival needs no session and no database write, and logging in on the way to the booking
form keeps the place. The pass names the event and the visitor, is signed with
WAITINGROOM_SIGNING_KEY (SECRET_KEY when unset) and expires: only the account, or the browser
holding the visitor cookie, it was issued to can use it, and only for that event.
"""

import secrets
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


BROWSER_PREFIX = "b:"


def account_of(request: HttpRequest) -> str | None:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"u:{user.pk}"
    return None


def identities(request: HttpRequest, event_id: Any) -> set[str]:
    """Every visitor id the request may act as: its account and the browser its cookie names."""
    found = set()
    account = account_of(request)
    if account:
        found.add(account)
    browser = visitor_from_token(event_id, request.COOKIES.get(visitor_cookie(event_id)))
    if browser and browser.startswith(BROWSER_PREFIX):
        found.add(browser)
    return found


# Where a new browser id stays for the rest of its request. The waiting page's fast lane hands a
# request it fails on to Django with the same environ; the view then runs a second time and must
# queue the browser it already queued, not a second one.
NEW_BROWSER_ENVIRON_KEY = "boxoffice.waitingroom.new_browser"


def visitor_of(request: HttpRequest) -> str:
    """The id a new arrival queues under: the account if logged in, else a new browser id."""
    account = account_of(request)
    if account:
        return account
    return str(
        request.META.setdefault(NEW_BROWSER_ENVIRON_KEY, BROWSER_PREFIX + secrets.token_urlsafe(18))
    )


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
