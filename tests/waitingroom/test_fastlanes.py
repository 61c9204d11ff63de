"""The WSGI fast lanes in front of a waiting room: the room comes before SOLD_OUT, and the poll
answers what the Django view answers.

Each request goes through the production WSGI stack (config.wsgi.application: the lanes, then
Django) and, as the reference, through Django alone (config.wsgi.django_application).
"""

import io
import json
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookies import SimpleCookie
from typing import Any

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client

from config.wsgi import application, django_application
from events.models import Event, TicketTier
from tests.api.conftest import login
from tests.factories import TicketTierFactory, UserFactory, order_reserved
from tests.notifications.helpers import make_user
from tests.waitingroom.test_waiting_room import forget_rooms, room_on
from ticketing.booking.gate import gate_sync
from waitingroom import passes, queue, services
from waitingroom.models import WaitingRoom


@contextmanager
def connection_kept() -> Iterator[None]:
    """Keep the test's transaction open across a WSGI call (as django.test.Client does)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def wsgi(
    app: Any, method: str, path: str, *, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, list[str]], bytes]:
    raw = b"" if body is None else json.dumps(body).encode()
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(raw)),
        "wsgi.input": io.BytesIO(raw),
        "wsgi.errors": io.StringIO(),
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    answered: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, response_headers: Any, exc_info: Any = None) -> None:
        answered.append((status, response_headers))

    with connection_kept():
        result = application_result = app(environ, start_response)
        content = b"".join(result)
        if hasattr(application_result, "close"):
            application_result.close()
    status, response_headers = answered[0]
    grouped: dict[str, list[str]] = {}
    for name, value in response_headers:
        grouped.setdefault(name.lower(), []).append(value)
    return int(status[:3]), grouped, content


def error_code(content: bytes) -> str:
    return str(json.loads(content)["error"]["code"])


@pytest.fixture
def sold_out(db: None) -> Iterator[TicketTier]:
    tier = TicketTierFactory.create(capacity=1)
    order_reserved(buyer=UserFactory.create(), tier=tier)
    gate_sync(event_ids=[tier.event_id])
    forget_rooms(tier.event_id)
    yield tier
    forget_rooms(tier.event_id)


def register(tier: TicketTier, token: str | None, **headers: str) -> dict[str, Any]:
    return {
        "method": "POST",
        "path": f"/api/v1/events/{tier.event_id}/register",
        "body": {"tier_id": str(tier.pk), "quantity": 1, "idempotency_key": uuid.uuid4().hex},
        "headers": {"Authorization": f"Bearer {token}", **headers},
    }


def test_without_a_room_a_sold_out_tier_is_answered_sold_out_by_the_lane(
    client: Client, sold_out: TicketTier
) -> None:
    token = login(client, make_user()).token
    request = register(sold_out, token)

    status, headers, content = wsgi(application, **request)

    assert (status, error_code(content)) == (409, "SOLD_OUT")
    assert "x-request-id" not in headers  # answered before Django's middleware


def test_while_the_room_is_on_a_visitor_without_a_pass_gets_queue_required_even_when_sold_out(
    client: Client, sold_out: TicketTier
) -> None:
    room_on(sold_out, per_minute=600)
    token = login(client, make_user()).token

    for app in (django_application, application):  # the reference, then the lanes in front
        status, _, content = wsgi(app, **register(sold_out, token))
        assert (status, error_code(content)) == (403, "QUEUE_REQUIRED"), app

    forged = passes.pass_issue(sold_out.event_id, "u:1")[:-4] + "AAAA"
    status, _, content = wsgi(application, **register(sold_out, token, X_Queue_Token=forged))
    assert (status, error_code(content)) == (403, "QUEUE_REQUIRED")


def test_while_the_room_is_on_someone_elses_genuine_pass_is_refused_by_django(
    client: Client, sold_out: TicketTier
) -> None:
    room_on(sold_out, per_minute=600)
    token = login(client, make_user()).token
    someone_elses = passes.pass_issue(sold_out.event_id, f"u:{make_user().pk}")

    status, _, content = wsgi(application, **register(sold_out, token, X_Queue_Token=someone_elses))

    assert (status, error_code(content)) == (403, "QUEUE_REQUIRED")


def test_a_buyer_with_their_own_pass_learns_the_tier_is_sold_out(
    client: Client, sold_out: TicketTier
) -> None:
    room_on(sold_out, per_minute=600)
    buyer = make_user()
    token = login(client, buyer).token
    own = passes.pass_issue(sold_out.event_id, f"u:{buyer.pk}")

    status, _, content = wsgi(application, **register(sold_out, token, X_Queue_Token=own))

    assert (status, error_code(content)) == (409, "SOLD_OUT")


def test_an_auto_room_counts_a_register_once_whichever_layer_answers(
    client: Client, sold_out: TicketTier
) -> None:
    room_on(sold_out, mode=WaitingRoom.Mode.AUTO, auto_arrivals_per_minute=1000)
    token = login(client, make_user()).token
    unsold = TicketTierFactory.create(event=sold_out.event, capacity=10)
    gate_sync(event_ids=[sold_out.event_id])

    assert wsgi(application, **register(sold_out, token))[0] == 409  # the lane answers
    assert wsgi(application, **register(unsold, token))[0] == 201  # the lane passes, Django books

    assert queue.count_arrival(event_id=sold_out.event_id) == 3  # two counted, plus this one


def visitor_headers(event_id: Any, visitor: str) -> dict[str, str]:
    cookie = f"{passes.visitor_cookie(event_id)}={passes.visitor_token(event_id, visitor)}"
    return {"Cookie": cookie}


def same_answer(
    django: tuple[int, dict[str, list[str]], bytes], lane: tuple[int, dict[str, list[str]], bytes]
) -> None:
    """The lane answers the view's status, body, content type, caching and cookies."""
    assert lane[0] == django[0]
    assert json.loads(lane[2]) == json.loads(django[2])
    for header in ("content-type", "cache-control", "x-content-type-options"):
        assert lane[1].get(header) == django[1].get(header), header

    def cookies(headers: dict[str, list[str]]) -> dict[str, dict[str, str]]:
        jar: SimpleCookie = SimpleCookie()
        for value in headers.get("set-cookie", []):
            jar.load(value)
        return {
            name: {k: v for k, v in morsel.items() if v and k != "expires"} | {"=": morsel.value}
            for name, morsel in jar.items()
        }

    assert cookies(lane[1]) == cookies(django[1])


def test_the_poll_lane_answers_what_the_view_answers_in_every_state(
    client: Client, sold_out: TicketTier, django_assert_num_queries: Any
) -> None:
    event_id = sold_out.event_id
    # One through at once, the next every ten seconds: a late arrival behind ten early ones
    # waits minutes, however slowly a loaded machine runs this test.
    room_on(sold_out, opens_in_s=-15, per_minute=6, token_minutes=5)
    early = [f"s:early{n}" for n in range(10)]
    for visitor in early:
        queue.join(event_id=event_id, visitor=visitor, now=time.time() - 20)
    first = next(v for v in early if queue.standing(event_id=event_id, visitor=v).rank == 0)
    queue.join(event_id=event_id, visitor="s:waiting")
    path = f"/queue/{event_id}/status"
    cases = {
        "not_in_queue": visitor_headers(event_id, "s:never-joined"),
        "your_turn": visitor_headers(event_id, first),
        "waiting": visitor_headers(event_id, "s:waiting"),
        "no_cookie": {},
        "forged_cookie": {"Cookie": f"{passes.visitor_cookie(event_id)}=forged"},
    }
    for case, headers in cases.items():
        django = wsgi(django_application, "GET", path, headers=headers)
        with django_assert_num_queries(0):
            lane = wsgi(application, "GET", path, headers=headers)
        assert "x-request-id" in django[1] and "x-request-id" not in lane[1], case
        same_answer(django, lane)
        if case in ("no_cookie", "forged_cookie"):
            assert (lane[0], error_code(lane[2])) == (404, "NOT_IN_QUEUE"), case
        else:
            assert json.loads(lane[2])["state"] == case
    assert "pass" in json.loads(wsgi(application, "GET", path, headers=cases["your_turn"])[2])


def test_the_poll_lane_leaves_other_methods_and_paths_to_django(sold_out: TicketTier) -> None:
    event_id = sold_out.event_id
    headers = visitor_headers(event_id, "s:someone")
    for method, path in (
        ("POST", f"/queue/{event_id}/status"),
        ("GET", f"/queue/{str(event_id).upper()}/status"),
        ("GET", f"/queue/{event_id}/status/"),
    ):
        django = wsgi(django_application, method, path, headers=headers)
        lane = wsgi(application, method, path, headers=headers)
        assert "x-request-id" in lane[1], (method, path)  # Django answered
        assert lane[0] == django[0]


# --- The waiting page: the same view, without the session and account middleware ---------------

CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


def page_of_room(tier: TicketTier, **room: Any) -> str:
    room_on(tier, **room)
    return f"/queue/{tier.event_id}/"


def cookies_of(headers: dict[str, list[str]]) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for value in headers.get("set-cookie", []):
        jar.load(value)
    return {name: morsel.value for name, morsel in jar.items()}


def browser_headers(cookies: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}


@pytest.mark.parametrize("app", [django_application, application], ids=["django", "lane"])
def test_a_newcomer_gets_a_place_once_per_browser_without_a_database_query(
    sold_out: TicketTier, app: Any, django_assert_num_queries: Any
) -> None:
    path = page_of_room(sold_out)
    with django_assert_num_queries(0):
        status, headers, content = wsgi(app, "GET", path)
        assert status == 200
        assert b"Your place in the queue" in content
        again = wsgi(app, "GET", path, headers=browser_headers(cookies_of(headers)))
    assert again[0] == 200
    visitor = passes.visitor_from_token(
        sold_out.event_id, cookies_of(headers)[passes.visitor_cookie(sold_out.event_id)]
    )
    assert visitor is not None and visitor.startswith(passes.BROWSER_PREFIX)
    assert queue.standing(event_id=sold_out.event_id, visitor=visitor).rank == 0
    assert queue.standing(event_id=sold_out.event_id).total == 1  # the reload kept the place
    # Only the lane skips Django's request cycle (and its request id).
    assert ("x-request-id" in headers) is (app is django_application)


def test_the_page_lane_answers_what_the_view_answers(sold_out: TicketTier) -> None:
    path = page_of_room(sold_out)
    _, first, _ = wsgi(django_application, "GET", path)
    browser = browser_headers(cookies_of(first))
    for accept in ({}, {"Accept_Encoding": "gzip", "Accept_Language": "de"}):
        django = wsgi(django_application, "GET", path, headers={**browser, **accept})
        lane = wsgi(application, "GET", path, headers={**browser, **accept})
        assert "x-request-id" in django[1] and "x-request-id" not in lane[1]
        assert lane[0] == django[0] == 200
        names = set(django[1]) - {"x-request-id", "content-length"}
        for name in names:
            assert lane[1].get(name) == django[1].get(name), name
        assert set(lane[1]) - {"content-length"} == names
        if not accept:  # the masked CSRF token differs on every page, like on every Django page
            assert CSRF_INPUT.sub(b"", lane[2]) == CSRF_INPUT.sub(b"", django[2])
        assert cookies_of(lane[1]).keys() == cookies_of(django[1]).keys()


@pytest.mark.parametrize("keeps_the_browser", [True, False], ids=["fixed", "negative-control"])
def test_a_page_the_lane_fails_after_the_join_queues_the_browser_once(
    sold_out: TicketTier, monkeypatch: pytest.MonkeyPatch, keeps_the_browser: bool
) -> None:
    path = page_of_room(sold_out)
    if not keeps_the_browser:
        # What the view did before a request kept its new browser id: a fresh one per call.
        monkeypatch.setattr(
            passes, "visitor_of", lambda request: passes.BROWSER_PREFIX + uuid.uuid4().hex
        )
    real_standing = queue.standing
    calls = []

    def standing_failing_once(**kw: Any) -> queue.Standing:
        calls.append(kw)
        if len(calls) == 1:  # in the lane, after its join
            raise RuntimeError("the lane's render failed")
        return real_standing(**kw)

    monkeypatch.setattr(queue, "standing", standing_failing_once)
    status, headers, _ = wsgi(application, "GET", path)

    assert status == 200 and "x-request-id" in headers  # Django answered after the lane failed
    assert len(calls) == 2
    monkeypatch.undo()
    queued = queue.standing(event_id=sold_out.event_id).total
    visitor = passes.visitor_from_token(
        sold_out.event_id, cookies_of(headers)[passes.visitor_cookie(sold_out.event_id)]
    )
    if keeps_the_browser:
        assert queued == 1 and visitor is not None
        assert queue.standing(event_id=sold_out.event_id, visitor=visitor).rank == 0
    else:
        assert queued == 2  # the same person twice in the queue: the test can fail


def test_the_page_lane_leaves_signed_in_visitors_and_unknown_rooms_to_django(
    client: Client, sold_out: TicketTier
) -> None:
    path = page_of_room(sold_out)
    client.force_login(UserFactory.create())
    session = {"Cookie": f"sessionid={client.cookies['sessionid'].value}"}
    status, headers, _ = wsgi(application, "GET", path, headers=session)
    assert status == 200 and "x-request-id" in headers  # Django answered

    unknown = wsgi(application, "GET", f"/queue/{uuid.uuid4()}/")
    assert unknown[0] == 404 and "x-request-id" in unknown[1]


def test_a_room_redis_lost_is_found_in_postgresql_and_published_again(
    sold_out: TicketTier,
) -> None:
    path = page_of_room(sold_out)
    queue.clear(event_id=sold_out.event_id)
    services.room_caches_clear()  # a second later, or another process

    status, headers, _ = wsgi(application, "GET", path)

    assert status == 200 and "x-request-id" in headers  # Django, from PostgreSQL
    assert queue.page_of(event_id=sold_out.event_id) is not None
    assert "x-request-id" not in wsgi(application, "GET", path)[1]  # the lane, from Redis


def test_a_room_whose_event_is_no_longer_public_loses_its_page_at_the_next_publish(
    sold_out: TicketTier,
) -> None:
    path = page_of_room(sold_out)
    Event.objects.filter(pk=sold_out.event_id).update(status=Event.Status.DRAFT)

    services.rooms_publish()

    for app in (django_application, application):
        assert wsgi(app, "GET", path)[0] == 404


@pytest.mark.parametrize("app", [django_application, application], ids=["django", "lane"])
def test_joining_from_one_address_again_and_again_is_slowed_down(
    sold_out: TicketTier, app: Any, settings: Any
) -> None:
    settings.WAITINGROOM_JOINS_PER_ADDRESS_PER_MINUTE = 3
    path = page_of_room(sold_out)
    answers = [wsgi(app, "GET", path)[0] for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert queue.standing(event_id=sold_out.event_id).total == 3


@pytest.mark.parametrize("app", [django_application, application], ids=["django", "lane"])
def test_a_pass_won_before_signing_in_books_once_signed_in_on_the_same_browser(
    client: Client, tier: TicketTier, app: Any
) -> None:
    forget_rooms(tier.event_id)
    path = page_of_room(tier, opens_in_s=-5, per_minute=6000)
    _, headers, _ = wsgi(app, "GET", path)
    browser = cookies_of(headers)
    deadline = time.monotonic() + 10
    answer: dict[str, Any] = {}
    while answer.get("state") != "your_turn" and time.monotonic() < deadline:
        time.sleep(0.2)
        answer = json.loads(wsgi(app, "GET", path + "status", headers=browser_headers(browser))[2])
    assert answer["state"] == "your_turn"
    token = login(client, make_user()).token  # the buyer signs in on the way to the form
    own_browser = browser_headers(
        {passes.visitor_cookie(tier.event_id): browser[passes.visitor_cookie(tier.event_id)]}
    )
    booked = wsgi(application, **register(tier, token, X_Queue_Token=answer["pass"], **own_browser))
    another_browser = wsgi(application, **register(tier, token, X_Queue_Token=answer["pass"]))
    forget_rooms(tier.event_id)
    assert booked[0] == 201, booked[2]
    assert (another_browser[0], error_code(another_browser[2])) == (403, "QUEUE_REQUIRED")
