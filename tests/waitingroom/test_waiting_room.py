"""The waiting room against real Redis and PostgreSQL: order, pace, passes and the register gate."""

import json
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client, override_settings
from django.utils import timezone

from accounts.models import User
from bench.fairness import shuffle_p_value
from events.models import TicketTier
from tests.api.conftest import login
from tests.notifications.helpers import make_user
from waitingroom import passes, queue, services
from waitingroom.models import WaitingRoom


def forget_rooms(event_id: Any) -> None:
    """A clean slate: the event's queue, the join counters of every address, the process caches.

    Every test client joins from 127.0.0.1: without this, tests that run together hit the
    per-address join limit (and a test sees the 429 another test earned).
    """
    queue.clear(event_id=event_id)
    queue.clear(event_id="limit")
    services.room_caches_clear()


@pytest.fixture
def event_id(tier: TicketTier) -> Iterator[Any]:
    forget_rooms(tier.event_id)
    yield tier.event_id
    forget_rooms(tier.event_id)


def room_on(
    tier: TicketTier, *, opens_in_s: float = -1, per_minute: int = 600, **kw: Any
) -> WaitingRoom:
    room = services.room_save(
        event=tier.event,
        mode=kw.pop("mode", WaitingRoom.Mode.ON),
        pace=WaitingRoom.Pace.FIXED,
        opens_at=timezone.now() + timedelta(seconds=opens_in_s),
        admit_per_minute=per_minute,
        **kw,
    )
    services.room_publish(room)  # what the commit does (the test's transaction never commits)
    return room


def test_early_crowd_is_shuffled_and_later_arrivals_keep_their_order(
    db: None, tier: TicketTier, event_id: Any
) -> None:
    opens = time.time() + 1000
    queue.configure(event_id=event_id, on=True, opens_at=opens, rate_per_s=10)
    early = [f"s:early{n}" for n in range(300)]
    for n, visitor in enumerate(early):
        queue.join(event_id=event_id, visitor=visitor, now=opens - 300 + n)
        queue.join(event_id=event_id, visitor=visitor, now=opens - 1)  # reloading changes nothing
    late = [f"s:late{n}" for n in range(50)]
    for n, visitor in enumerate(late):
        queue.join(event_id=event_id, visitor=visitor, now=opens + n)

    ranks = [queue.standing(event_id=event_id, visitor=v, now=opens).rank for v in early]
    assert sorted(r for r in ranks if r is not None) == list(range(300))
    # Arrival order says nothing about the place drawn: a rank test finds no relation.
    p_value = shuffle_p_value(range(300), [r if r is not None else -1 for r in ranks])
    assert p_value > 0.001, p_value
    late_ranks = [queue.standing(event_id=event_id, visitor=v, now=opens).rank for v in late]
    assert late_ranks == list(range(300, 350))


def test_visitors_go_through_at_the_set_pace_and_positions_never_rise(
    db: None, tier: TicketTier, event_id: Any
) -> None:
    opens = time.time() - 10
    queue.configure(event_id=event_id, on=True, opens_at=opens, rate_per_s=5)
    visitors = [f"s:v{n}" for n in range(100)]
    for visitor in visitors:
        queue.join(event_id=event_id, visitor=visitor, now=opens)
    last = dict.fromkeys(visitors, 10**9)
    for second in range(1, 11):
        now = opens + second
        for visitor in visitors:
            standing = queue.standing(event_id=event_id, visitor=visitor, now=now)
            position = 0 if standing.through else standing.position
            assert position is not None and position <= last[visitor]
            last[visitor] = position
        assert queue.standing(event_id=event_id, now=now).admitted == 5 * second
    # An empty stretch does not save up a burst: the counter stops at the end of the queue.
    assert queue.standing(event_id=event_id, now=opens + 1000).admitted == 100
    queue.join(event_id=event_id, visitor="s:newcomer", now=opens + 1000)
    assert queue.standing(event_id=event_id, now=opens + 1000.1).admitted == 100
    assert queue.standing(event_id=event_id, now=opens + 1000.3).admitted == 101


def test_register_refuses_no_pass_a_forged_one_and_someone_elses(
    db: None, client: Client, tier: TicketTier, event_id: Any
) -> None:
    room_on(tier, per_minute=6000)
    buyer, other = make_user(), make_user()
    api = login(client, buyer)
    body = {"tier_id": str(tier.pk), "quantity": 1, "idempotency_key": uuid.uuid4().hex}
    path = f"/events/{event_id}/register"

    refused = api.post(path, body)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "QUEUE_REQUIRED"

    forged = passes.pass_issue(event_id, f"u:{buyer.pk}")[:-4] + "AAAA"
    someone_elses = passes.pass_issue(event_id, f"u:{other.pk}")
    other_event = passes.pass_issue(uuid.uuid4(), f"u:{buyer.pk}")
    for token in (forged, someone_elses, other_event, "junk"):
        response = client.post(
            f"/api/v1{path}",
            json.dumps(body),
            content_type="application/json",
            headers={**api.headers(), "X-Queue-Token": token},
        )
        assert response.status_code == 403, token
        assert response.json()["error"]["code"] == "QUEUE_REQUIRED"

    own = passes.pass_issue(event_id, f"u:{buyer.pk}")
    booked = client.post(
        f"/api/v1{path}",
        json.dumps(body),
        content_type="application/json",
        headers={**api.headers(), "X-Queue-Token": own},
    )
    assert booked.status_code == 201, booked.content


def test_an_expired_pass_is_refused(
    db: None, client: Client, tier: TicketTier, event_id: Any, monkeypatch: Any
) -> None:
    room_on(tier, token_minutes=1)
    buyer = make_user()
    api = login(client, buyer)
    token = passes.pass_issue(event_id, f"u:{buyer.pk}")
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    response = client.post(
        f"/api/v1/events/{event_id}/register",
        json.dumps({"tier_id": str(tier.pk), "quantity": 1, "idempotency_key": "k1"}),
        content_type="application/json",
        headers={**api.headers(), "X-Queue-Token": token},
    )
    assert response.status_code == 403


def test_without_a_room_register_needs_no_pass(
    db: None, client: Client, tier: TicketTier, event_id: Any
) -> None:
    api = login(client, make_user())
    response = api.post(
        f"/events/{event_id}/register",
        {"tier_id": str(tier.pk), "quantity": 1, "idempotency_key": uuid.uuid4().hex},
    )
    assert response.status_code == 201


def test_waiting_page_polls_from_redis_alone_and_hands_out_a_pass_at_the_front(
    db: None,
    client: Client,
    attendee: User,
    tier: TicketTier,
    event_id: Any,
    django_assert_num_queries: Any,
) -> None:
    room_on(tier, per_minute=60)  # one a second
    for n in range(3):  # three people ahead
        queue.join(event_id=event_id, visitor=f"s:ahead{n}", now=time.time() - 5)
    client.force_login(attendee)
    page = client.get(f"/queue/{event_id}/")
    assert page.status_code == 200
    assert b"Your place in the queue" in page.content

    with django_assert_num_queries(0):
        first = client.get(f"/queue/{event_id}/status").json()
    assert first["state"] == "waiting"
    assert 1 <= first["position"] <= 4
    assert "pass" not in first

    deadline = time.monotonic() + 15
    status = first
    while status["state"] != "your_turn" and time.monotonic() < deadline:
        time.sleep(0.5)
        status = client.get(f"/queue/{event_id}/status").json()
    assert status["state"] == "your_turn"
    assert passes.pass_holder(status["pass"], event_id, max_age_s=60) == f"u:{attendee.pk}"
    assert client.cookies[passes.pass_cookie(event_id)].value == status["pass"]


def test_one_place_per_account_whatever_the_device(
    db: None, attendee: User, tier: TicketTier, event_id: Any
) -> None:
    room_on(tier)
    phone, laptop = Client(), Client()
    for device in (phone, laptop):
        device.force_login(attendee)
        assert device.get(f"/queue/{event_id}/").status_code == 200
    assert queue.standing(event_id=event_id).total == 1


def test_joining_again_and_again_from_one_address_is_slowed_down(
    db: None, tier: TicketTier, event_id: Any
) -> None:
    room_on(tier)
    answers = [Client().get(f"/queue/{event_id}/").status_code for _ in range(32)]
    assert answers.count(200) == 30
    assert answers[-1] == 429
    assert queue.standing(event_id=event_id).total == 30


def test_a_room_on_auto_switches_itself_on_when_arrivals_pass_the_threshold(
    db: None, client: Client, tier: TicketTier, event_id: Any
) -> None:
    room_on(tier, mode=WaitingRoom.Mode.AUTO, auto_arrivals_per_minute=3)
    api = login(client, make_user())
    codes = []
    for _ in range(5):
        services.room_caches_clear()
        response = api.post(
            f"/events/{event_id}/register",
            {"tier_id": str(tier.pk), "quantity": 1, "idempotency_key": uuid.uuid4().hex},
        )
        codes.append(response.status_code)
    assert codes == [201, 201, 201, 403, 403]
    assert queue.standing(event_id=event_id).on


def test_organizer_sets_the_room_and_sees_the_queue_live(
    db: None,
    client: Client,
    organizer: User,
    tier: TicketTier,
    event_id: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client.force_login(organizer)
    page = client.get(f"/manage/events/{event_id}/waiting-room/")
    assert page.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        saved = client.post(
            f"/manage/events/{event_id}/waiting-room/",
            {
                "mode": "on",
                "pace": "fixed",
                "opens_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
                "admit_per_minute": 120,
                "auto_arrivals_per_minute": 1000,
                "token_minutes": 10,
            },
        )
    assert saved.status_code == 302
    assert WaitingRoom.objects.get(event_id=event_id).admit_per_minute == 120
    queue.join(event_id=event_id, visitor="s:someone")
    live = client.get(f"/manage/events/{event_id}/waiting-room/stats").json()
    assert live["on"] is True
    assert live["joined"] == 1
    assert live["rate_per_minute"] == 120.0


def test_someone_elses_room_is_a_404(
    db: None, client: Client, attendee: User, tier: TicketTier, event_id: Any
) -> None:
    client.force_login(attendee)
    assert client.get(f"/manage/events/{event_id}/waiting-room/").status_code == 404
    assert client.get(f"/manage/events/{event_id}/waiting-room/stats").status_code == 404


@pytest.fixture
def frozen_redis(event_id: Any) -> Iterator[None]:
    """Redis as a frozen server looks: it accepts the connection and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    frozen = {
        **django_settings.CACHES["default"],
        "LOCATION": f"redis://127.0.0.1:{listener.getsockname()[1]}/0",
        # Production's patience, not the test processes' longer one (tests/conftest.py).
        "OPTIONS": {
            **django_settings.CACHES["default"]["OPTIONS"],
            "SOCKET_CONNECT_TIMEOUT": django_settings.REDIS_SOCKET_TIMEOUT,
            "SOCKET_TIMEOUT": django_settings.REDIS_SOCKET_TIMEOUT,
        },
    }
    services.room_caches_clear()
    try:
        with override_settings(CACHES={**django_settings.CACHES, "default": frozen}):
            yield
    finally:
        listener.close()
        services.room_caches_clear()


def room_saved(tier: TicketTier, mode: str = WaitingRoom.Mode.ON) -> WaitingRoom:
    """Saved in PostgreSQL only: Redis never hears of it."""
    return services.room_save(
        event=tier.event,
        mode=mode,
        pace=WaitingRoom.Pace.FIXED,
        opens_at=timezone.now() - timedelta(seconds=1),
        admit_per_minute=600,
    )


def test_with_redis_frozen_register_reads_the_room_from_postgresql(
    db: None, client: Client, tier: TicketTier, event_id: Any, frozen_redis: None
) -> None:
    room = room_saved(tier)
    buyer = make_user()
    api = login(client, buyer)
    body = {"tier_id": str(tier.pk), "quantity": 1, "idempotency_key": uuid.uuid4().hex}

    refused = api.post(f"/events/{event_id}/register", body)
    booked = client.post(
        f"/api/v1/events/{event_id}/register",
        json.dumps(body),
        content_type="application/json",
        headers={**api.headers(), "X-Queue-Token": passes.pass_issue(event_id, f"u:{buyer.pk}")},
    )
    room.mode = WaitingRoom.Mode.OFF
    room.save()
    services.room_caches_clear()
    room_off = api.post(
        f"/events/{event_id}/register", {**body, "idempotency_key": uuid.uuid4().hex}
    )

    assert refused.status_code == 403, refused.content
    assert refused.json()["error"]["code"] == "QUEUE_REQUIRED"
    assert booked.status_code == 201, booked.content
    assert room_off.status_code == 201, room_off.content


def test_with_redis_frozen_the_waiting_page_says_come_back_not_500(
    db: None, attendee: User, tier: TicketTier, event_id: Any, frozen_redis: None
) -> None:
    room_saved(tier)
    client = Client(raise_request_exception=False)  # answered as in production
    client.force_login(attendee)

    page = client.get(f"/queue/{event_id}/")

    assert page.status_code == 503
    assert int(page["Retry-After"]) > 0
