"""Behind PgBouncer in transaction mode, with fewer server connections than request threads:
concurrent bookings, the gate sync's `.iterator()` and repeated queries (which psycopg would
prepare) all work, because DATABASE_TRANSACTION_POOLING turns off what needs one session."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.ops.conftest import Buyer
from tests.ops.servers import database_url_of_test_db, gunicorn, pgbouncer, production_env
from ticketing.models import Order, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def test_bookings_through_pgbouncer_transaction_pooling(
    buyer: Buyer, collected_static: Path, tmp_path: Path
) -> None:
    with pgbouncer(tmp_path / "pgbouncer") as port:
        env = production_env(
            DATABASE_URL=database_url_of_test_db(host="127.0.0.1", port=port),
            DATABASE_TRANSACTION_POOLING="1",
            WEB_CONCURRENCY="2",
            GUNICORN_THREADS="6",
            # As behind HAProxy: the proxy's address is trusted to name the client, so the
            # per-buyer limit counts each of these buyers' addresses, not the proxy's.
            TRUSTED_PROXIES="127.0.0.1",
        )
        log = tmp_path / "gunicorn.log"
        with gunicorn(env, log) as url:

            def purchase(number: int) -> int:
                headers = {**buyer.headers(), "X-Forwarded-For": f"198.51.100.{number + 1}"}
                with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
                    reserved = client.post(
                        f"/api/v1/events/{buyer.event.pk}/register",
                        json={
                            "tier_id": str(buyer.tier.pk),
                            "quantity": 1,
                            "idempotency_key": uuid.uuid4().hex,
                        },
                    )
                    if reserved.status_code != 201:
                        return reserved.status_code
                    # The same statements again and again: psycopg would prepare them.
                    for _ in range(6):
                        client.get(f"/api/v1/orders/{reserved.json()['order_id']}")
                    return client.post(
                        f"/api/v1/orders/{reserved.json()['order_id']}/pay",
                        json={
                            "idempotency_key": uuid.uuid4().hex,
                            "card_number": "4242424242424242",
                        },
                    ).status_code

            with ThreadPoolExecutor(max_workers=12) as pool:
                answers = list(pool.map(purchase, range(36)))

        boot = log.read_text()

    assert answers == [200] * 36, answers
    assert Order.objects.filter(event=buyer.event, status=Order.Status.PAID).count() == 36
    assert Ticket.objects.filter(event=buyer.event).count() == 36
    # gunicorn's start-up gate sync iterates a queryset: no server-side cursor error.
    assert "admission gate not synced" not in boot
