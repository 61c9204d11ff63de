"""The API against its own OpenAPI schema (schemathesis over /api/v1/openapi.json).

For every operation, generated requests — valid and invalid — sent with a signed-in owner's
token: no answer is a 5xx, and every answer is one the schema documents (status code,
content type, body). `make test` runs a bounded, derandomized set; a long run:
    SCHEMA_EXAMPLES=500 pytest tests/api/test_schema_conformance.py -m long_schema
"""

import os
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from accounts.models import Membership, User
from events.models import Event, TicketTier
from tests.api.conftest import login
from tests.factories import EventFactory, MembershipFactory, TicketTierFactory, order_paid

BOUNDED_EXAMPLES = 6
LONG_EXAMPLES = int(os.environ.get("SCHEMA_EXAMPLES", "0"))

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
]


def owner_with_order() -> User:
    """An owner of an organization with a published event, who bought a ticket of it."""
    owner = _owner()
    event = _event(owner)
    order_paid(buyer=owner, tier=_tier(event))
    return owner


def _owner() -> User:
    return MembershipFactory(role=Membership.Role.OWNER).user


def _event(owner: User) -> Event:
    return EventFactory(organization=owner.organizations.get())


def _tier(event: Event) -> TicketTier:
    return TicketTierFactory(event=event)


@pytest.fixture
def owner_token(client, db) -> Iterator[str]:
    """An owner of an organization with a published event, a paid order and door staff, so
    authenticated operations reach their real code rather than stopping at 401."""
    owner = owner_with_order()
    token = login(client, owner).token
    # Requests go through the WSGI handler, which closes "old" connections at each request's
    # start and end; inside the test's transaction that would close the test's own connection
    # (Django's test client unhooks the same receiver).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield token  # type: ignore[misc]
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def call_and_validate(case: schemathesis.Case, token: str) -> None:
    # Identity: the in-process WSGI transport hands schemathesis the bytes as sent, and a
    # compressed body is not what the schema describes.
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"}
    case.call_and_validate(headers=headers, checks=CHECKS)


@schema.parametrize()
@settings(
    max_examples=BOUNDED_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_its_schema_says(case: schemathesis.Case, owner_token: str) -> None:
    call_and_validate(case, owner_token)


@pytest.mark.long_schema
@pytest.mark.skipif(LONG_EXAMPLES < 100, reason="the long run: set SCHEMA_EXAMPLES=500")
@pytest.mark.timeout(6 * 3600)
@schema.parametrize()
@settings(
    max_examples=max(LONG_EXAMPLES, 1),
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_its_schema_says_over_a_long_run(
    case: schemathesis.Case, owner_token: str
) -> None:
    call_and_validate(case, owner_token)
