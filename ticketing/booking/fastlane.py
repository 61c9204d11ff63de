"""SOLD_OUT before Django: a WSGI layer for the one request a rush repeats most.

Once a tier is gone, most of a flash sale's traffic is `POST /api/v1/events/<id>/register`
for that tier. Django, authentication and two queries cost a few milliseconds each time; this
layer answers it from the Redis admission gate alone in a fraction of that.

It answers only when it is sure, and otherwise hands the request to Django unchanged:
  - the body is small, valid JSON naming tiers, quantities and an idempotency key;
  - a Bearer token is present (it is not checked here: a sold-out answer reveals nothing a
    public event page does not, so a bad token gets SOLD_OUT rather than 401 in a rush);
  - the gate knows every tier, one of them is short, and no earlier request with this
    idempotency key was admitted for it (that buyer must get their order back, from Django).

The waiting room comes first, as in the view: while an event's room is on, a request without
a genuine pass is answered 403 QUEUE_REQUIRED, whether or not the tier is sold out. A queue is
only fair if nobody learns more, or earlier, by skipping it (hosted queues such as Queue-it
stand in front of every protected request, the sold-out answer included); and SOLD_OUT here
would contradict what Django answers the same request. A genuine pass goes on to Django, which
checks it was issued to this caller (that needs the token's user) before anything else.
"""

import io
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from redis.exceptions import RedisError

from core.http import in_asked_language
from ticketing.booking import gate
from ticketing.errors import SoldOut
from waitingroom import passes
from waitingroom.errors import QueueRequired
from waitingroom.services import ARRIVAL_COUNTED, room_pass_lifetime

logger = logging.getLogger(__name__)

REGISTER = re.compile(r"^/api/v1/events/([0-9a-fA-F-]{32,36})/register/?$")
MAX_BODY = 8192


def _answer(start_response: "StartResponse", status: str, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


# KEYS: per tier, its counter then its admitted mark for this key. ARGV: the quantities.
# 1 when some known tier is short and this key was never admitted there; else 0.
_SOLD_OUT = """
for i = 1, #ARGV do
  local left = redis.call('GET', KEYS[2 * i - 1])
  if not left then return 0 end
  if tonumber(left) < tonumber(ARGV[i]) and redis.call('EXISTS', KEYS[2 * i]) == 0 then
    return 1
  end
end
return 0
"""

StartResponse = Callable[..., Any]


def _wanted(body: bytes) -> tuple[dict[str, int], str] | None:
    """The tiers and quantities asked for, and the idempotency key; None if not plainly so."""
    try:
        data = json.loads(body)
        key = data["idempotency_key"]
        if "items" in data:
            pairs = [(item["tier_id"], item["quantity"]) for item in data["items"]]
        elif "best_available" in data:
            best = data["best_available"]
            pairs = [(best["tier_id"], best["quantity"])]
        else:
            pairs = [(data["tier_id"], data["quantity"])]
    except (ValueError, KeyError, TypeError):
        return None
    wanted: dict[str, int] = {}
    for tier_id, quantity in pairs:
        if not isinstance(tier_id, str) or type(quantity) is not int or quantity < 1:
            return None
        wanted[tier_id.lower()] = wanted.get(tier_id.lower(), 0) + quantity
    if not wanted or not isinstance(key, str) or not 0 < len(key) <= 100:
        return None
    return wanted, key


class SoldOutFastLane:
    def __init__(self, app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        match = REGISTER.match(environ.get("PATH_INFO", ""))
        if (
            match is None
            or environ.get("REQUEST_METHOD") != "POST"
            or not environ.get("HTTP_AUTHORIZATION", "").startswith("Bearer ")
        ):
            return self.app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return self.app(environ, start_response)
        if not 0 < length <= MAX_BODY:
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)  # Django reads it again if we pass
        asked = _wanted(body)
        if asked is None:
            return self.app(environ, start_response)
        try:
            event_id = str(uuid.UUID(match.group(1)))
        except ValueError:
            return self.app(environ, start_response)
        try:
            lifetime = room_pass_lifetime(event_id)
        except RedisError:
            return self.app(environ, start_response)
        environ[ARRIVAL_COUNTED] = True
        if lifetime is not None:
            token = passes.environ_pass(environ, event_id)
            if passes.pass_holder(token, event_id, max_age_s=lifetime) is None:
                with in_asked_language(environ):
                    refused = QueueRequired().as_dict()
                return _answer(start_response, "403 Forbidden", refused)
            return self.app(environ, start_response)
        if self._sold_out(event_id, *asked):
            with in_asked_language(environ):
                sold_out = SoldOut().with_waitlist(event_id).as_dict()
            return _answer(start_response, "409 Conflict", sold_out)
        return self.app(environ, start_response)

    def _sold_out(self, event_id: str, wanted: dict[str, int], key: str) -> bool:
        client = gate.redis_client()
        if client is None:
            return False
        keys: list[str] = []
        for tier_id in sorted(wanted):
            counter = gate.counter_key(event_id, tier_id)
            keys += [counter, gate.admitted_key(counter, key)]
        try:
            script = gate.script(client, "fastlane", _SOLD_OUT)
            return bool(script(keys=keys, args=[wanted[t] for t in sorted(wanted)]))
        except RedisError as exc:
            gate.failed(exc)
            return False
