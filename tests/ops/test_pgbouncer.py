"""Behind PgBouncer in transaction mode, with fewer server connections than request threads:
concurrent bookings, the gate sync's `.iterator()` and repeated queries (which psycopg would
prepare) all work, because DATABASE_TRANSACTION_POOLING turns off what needs one session."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from accounts.models import Membership
from accounts.services import api_token_issue
from checkin.models import Scan
from checkin.services import checkin_list_default
from tests.factories import (
    PASSWORD,
    EventFactory,
    MembershipFactory,
    TicketTierFactory,
    UserFactory,
    order_paid,
)
from tests.ops.conftest import Buyer
from tests.ops.servers import database_url_of_test_db, gunicorn, pgbouncer, production_env
from ticketing.models import Order, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def _through_bouncer(port: int, **extra: str) -> dict[str, str]:
    """A production gunicorn's environment, connected through PgBouncer on `port`, with fewer
    server connections than request threads."""
    return production_env(
        DATABASE_URL=database_url_of_test_db(host="127.0.0.1", port=port),
        DATABASE_TRANSACTION_POOLING="1",
        WEB_CONCURRENCY="2",
        GUNICORN_THREADS="6",
        **extra,
    )


def test_bookings_through_pgbouncer_transaction_pooling(
    buyer: Buyer, collected_static: Path, tmp_path: Path
) -> None:
    with pgbouncer(tmp_path / "pgbouncer") as port:
        env = _through_bouncer(
            port,
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


def test_door_scans_through_pgbouncer_transaction_pooling(
    transactional_db: None, collected_static: Path, tmp_path: Path
) -> None:
    """The scan statements are prepared per connection where that is safe; behind a
    transaction pooler a prepared statement would be looked up on whichever server the next
    transaction got, so every scan must still work there."""
    event = EventFactory.create()
    tier = TicketTierFactory.create(event=event, capacity=60)
    attendee = UserFactory.create()
    tickets = [order_paid(buyer=attendee, tier=tier).tickets[0] for _ in range(24)]
    gate = checkin_list_default(event)
    staff = MembershipFactory.create(
        organization=event.organization, role=Membership.Role.DOOR
    ).user
    token = api_token_issue(email=staff.email, password=PASSWORD)
    with (
        pgbouncer(tmp_path / "pgbouncer") as port,
        gunicorn(_through_bouncer(port), tmp_path / "gunicorn.log") as url,
    ):

        def scan(ticket: Ticket) -> list[tuple[int, str]]:
            with httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
            ) as client:
                answers = []
                for _ in range(3):  # admitted, then twice already in
                    answer = client.post(
                        "/api/v1/checkin/scan",
                        json={"payload": ticket.qr_payload, "list_id": str(gate.pk)},
                    )
                    answers.append((answer.status_code, answer.json().get("reason", "")))
                return answers

        with ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(pool.map(scan, tickets))

    assert all(status == 200 for each in answers for status, _ in each), answers
    admitted = sum(1 for each in answers for _, reason in each if reason == "ok")
    assert admitted == len(tickets), answers
    assert Scan.objects.filter(checkin_list=gate).count() == 3 * len(tickets)
