"""Door scans before the Django request cycle: a WSGI layer for the request a gate repeats most.

At a festival gate every device sends `POST /api/v1/checkin/scan` over and over. Through
Django that is middleware, ninja, pydantic and three queries, ~2 ms of CPU a scan; this layer
parses the same JSON, authenticates the same personal token (`api_token_grant`, with the same
scope the route table names) and calls the same
service (`ticket_scan`), and answers the same JSON, in a fraction of that.

It answers only the plain case and hands everything else to Django unchanged, which then gives
the usual answer (401, 422 VALIDATION_ERROR, 404...): a body that is not exactly the documented
fields with valid values, no list_id, a token that does not authenticate or lacks the scope, or
an OAuth2 token.
"""

import io
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from http import HTTPStatus
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DataError, close_old_connections, connection
from django.utils.translation import gettext as _

from accounts.scopes import API_ROUTE_SCOPES
from accounts.services import api_token_grant
from checkin.services import ticket_scan
from core.errors import DomainError
from core.http import in_asked_language

logger = logging.getLogger(__name__)

SCAN_PATH = re.compile(r"^/api/v1/checkin/scan/?$")
SCAN_SCOPE = API_ROUTE_SCOPES["POST api:scan"]
MAX_BODY = 4096
FIELDS = {"payload", "list_id", "device_id", "scanned_at", "direction"}
StartResponse = Callable[..., Any]


def _parse(body: bytes) -> dict[str, Any] | None:
    """The scan's arguments if the body is exactly what ScanIn (checkin/api.py) accepts."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not set(data) <= FIELDS:
        return None
    payload, list_id = data.get("payload"), data.get("list_id")
    device_id, direction = data.get("device_id", ""), data.get("direction", "in")
    scanned_at = data.get("scanned_at")
    if not isinstance(payload, str) or not 1 <= len(payload) <= 1000:
        return None
    if not isinstance(device_id, str) or len(device_id) > 64 or direction not in ("in", "out"):
        return None
    if not isinstance(list_id, str):
        return None  # without a list the payload names the event: the slow path finds it
    try:
        parsed_list = uuid.UUID(list_id)
    except ValueError:
        return None
    when = None
    if scanned_at is not None:
        if not isinstance(scanned_at, str):
            return None
        try:
            when = datetime.fromisoformat(scanned_at.replace("Z", "+00:00"))
        except ValueError:
            return None
        if when.tzinfo is None:
            return None  # let pydantic decide what a naive time means, as it always has
    return {
        "payload": payload,
        "checkin_list": parsed_list,
        "device_id": device_id,
        "scanned_at": when,
        "direction": direction,
    }


class ScanFastLane:
    def __init__(self, app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if (
            environ.get("REQUEST_METHOD") != "POST"
            or SCAN_PATH.match(environ.get("PATH_INFO", "")) is None
            or not environ.get("HTTP_AUTHORIZATION", "").startswith("Bearer ")
            or not environ.get("CONTENT_TYPE", "").startswith("application/json")
        ):
            return self.app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return self.app(environ, start_response)
        if not 0 < length <= MAX_BODY:
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)  # Django can still read it if we pass
        arguments = _parse(body)
        if arguments is None:
            return self.app(environ, start_response)
        # What Django's request_started / request_finished do for the database connection:
        # drop it when it is too old or broken, so a long-lived worker thread heals itself.
        # (Never inside a transaction: a test runs the lane inside one.)
        recycle = not connection.in_atomic_block
        if recycle:
            close_old_connections()
        # Django's LocaleMiddleware never runs for what this lane answers itself.
        with in_asked_language(environ):
            try:
                token = environ["HTTP_AUTHORIZATION"][len("Bearer ") :].strip()
                grant = api_token_grant(token)
                if grant is None or SCAN_SCOPE not in grant.scopes:
                    return self.app(environ, start_response)
                status, answer = 200, self._scan(grant.user, arguments)
            except DomainError as exc:
                status, answer = exc.status, exc.as_dict()
            except DataError:
                status = 422
                answer = {
                    "error": {
                        "code": "VALIDATION_ERROR",
                        "message": _("The input contains a value that cannot be used."),
                    }
                }
            except Exception:
                logger.exception("Unhandled error in the scan fast lane")
                status = 500
                failed = _("Something went wrong on our side.")
                answer = {"error": {"code": "INTERNAL", "message": failed}}
            finally:
                if recycle:
                    close_old_connections()
        raw = json.dumps(answer, cls=DjangoJSONEncoder).encode()
        start_response(
            f"{status} {HTTPStatus(status).phrase}",
            [
                ("Content-Type", "application/json; charset=utf-8"),
                ("Content-Length", str(len(raw))),
                ("X-Content-Type-Options", "nosniff"),
            ],
        )
        return [raw]

    @staticmethod
    def _scan(user: Any, arguments: dict[str, Any]) -> dict[str, Any]:
        result = ticket_scan(scanned_by=user, **arguments)
        return {
            "valid": result.valid,
            "reason": result.reason,
            "message": result.message,
            "attendee_name": result.attendee_name,
            "tier": result.tier,
            "already_used": result.already_used,
            "first_used_at": result.first_used_at,
            "scan_id": result.scan_id,
            "direction": result.direction,
        }
