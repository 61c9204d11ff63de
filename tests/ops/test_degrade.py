"""Degrade, don't stall: a real gunicorn (production settings) while PostgreSQL is cut off and
comes back, and while Redis is frozen."""

import signal
import time
import uuid
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from tests.ops.conftest import Buyer
from tests.ops.servers import (
    TcpProxy,
    database_url_of_test_db,
    gunicorn,
    production_env,
    redis_server,
    wait_for,
)
from ticketing.models import Order

pytestmark = pytest.mark.django_db(transaction=True)


def book(url: str, buyer: Buyer, *, timeout: float = 30) -> httpx.Response:
    """Reserve one ticket and pay for it; the last answer."""
    client = httpx.Client(base_url=url, headers=buyer.headers(), timeout=timeout)
    reserved = client.post(
        f"/api/v1/events/{buyer.event.pk}/register",
        json={"tier_id": str(buyer.tier.pk), "quantity": 1, "idempotency_key": uuid.uuid4().hex},
    )
    if reserved.status_code != 201:
        return reserved
    return client.post(
        f"/api/v1/orders/{reserved.json()['order_id']}/pay",
        json={"idempotency_key": uuid.uuid4().hex, "card_number": "4242424242424242"},
    )


def test_database_outage_answers_503_with_retry_after_and_recovers_by_itself(
    buyer: Buyer, collected_static: Path, tmp_path: Path
) -> None:
    proxy = TcpProxy(int(settings.DATABASES["default"]["PORT"]))
    env = production_env(DATABASE_URL=database_url_of_test_db(host="127.0.0.1", port=proxy.port))
    try:
        with gunicorn(env, tmp_path / "gunicorn.log") as url:
            assert book(url, buyer).status_code == 200  # persistent connections now open
            assert httpx.get(f"{url}/").status_code == 200

            proxy.cut()  # what a PostgreSQL restart looks like from here
            api = httpx.get(f"{url}/api/v1/orders/{uuid.uuid4()}", headers=buyer.headers())
            booking = book(url, buyer)
            page = httpx.get(f"{url}/")

            for response in (api, booking):
                assert response.status_code == 503, response.text
                assert response.json()["error"]["code"] == "UNAVAILABLE"
                assert int(response.headers["Retry-After"]) > 0
            assert page.status_code == 503
            assert "We'll be right back" in page.text
            assert int(page.headers["Retry-After"]) > 0

            proxy.restore()
            started = time.monotonic()
            wait_for(
                lambda: book(url, buyer).status_code == 200,
                timeout=15,
                what="booking to work again without restarting gunicorn",
                log=tmp_path / "gunicorn.log",
            )
            assert time.monotonic() - started < 15
            assert httpx.get(f"{url}/").status_code == 200
    finally:
        proxy.close()

    assert Order.objects.filter(status=Order.Status.PAID).count() >= 2


@pytest.mark.serial
@pytest.mark.parametrize(
    ("timeouts", "stalls"),
    [
        ({}, False),
        # Negative control: with second-long timeouts the same purchases stall on Redis.
        ({"REDIS_SOCKET_TIMEOUT": "5", "CELERY_BROKER_SOCKET_TIMEOUT": "30"}, True),
    ],
    ids=["short-timeouts", "long-timeouts-stall"],
)
def test_frozen_redis_does_not_stall_booking(
    buyer: Buyer, collected_static: Path, tmp_path: Path, timeouts: dict[str, str], stalls: bool
) -> None:
    bound = 3.0  # seconds per purchase (reserve + pay) on a loaded 2-core machine
    with redis_server(tmp_path) as (port, redis_process):
        redis_url = f"redis://127.0.0.1:{port}/0"
        env = production_env(REDIS_URL=redis_url, CELERY_BROKER_URL=redis_url, **timeouts)
        with gunicorn(env, tmp_path / "gunicorn.log") as url:
            assert book(url, buyer).status_code == 200  # connections to Redis now open

            redis_process.send_signal(signal.SIGSTOP)  # accepts connections, never answers
            try:
                durations = []
                for _ in range(3):
                    started = time.monotonic()
                    try:
                        answer = book(url, buyer, timeout=bound * 2).status_code
                    except httpx.TimeoutException:
                        answer = None
                    durations.append(time.monotonic() - started)
                    if not stalls:
                        assert answer == 200
            finally:
                redis_process.send_signal(signal.SIGCONT)

    if stalls:
        assert max(durations) > bound, durations
    else:
        assert max(durations) < bound, durations
        paid = Order.objects.filter(status=Order.Status.PAID, event=buyer.event)
        assert paid.count() == 4  # PostgreSQL alone sold them while Redis was frozen
