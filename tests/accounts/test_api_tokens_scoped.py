"""Personal API tokens: scoped, expiring, revocable, stored only as digests; and the one table
that says which scope each API route needs."""

import json
import re
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from ninja.constants import NOT_SET

from accounts.models import ApiToken, AuditEntry, User
from accounts.scopes import ACCOUNT_SCOPE, API_ROUTE_SCOPES, API_SCOPES
from accounts.services import token_lookups
from accounts.tasks import dead_tokens_purge
from config.api import api
from tests.factories import PASSWORD

NEW_EVENT = {
    "title": "Scoped",
    "venue_name": "Hall",
    "city": "Berlin",
    "starts_at": "2031-05-01T19:00:00Z",
    "ends_at": "2031-05-01T22:00:00Z",
    "tiers": [{"name": "Standard", "price": "10.00", "capacity": 10}],
}


def issue(client: Client, user: User, **extra: Any) -> Any:
    return client.post(
        "/api/v1/auth/token",
        json.dumps({"email": user.email, "password": PASSWORD, **extra}),
        content_type="application/json",
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create_event(client: Client, token: str) -> Any:
    return client.post(
        "/api/v1/events",
        json.dumps(NEW_EVENT),
        content_type="application/json",
        headers=bearer(token),
    )


def test_token_without_scopes_asked_keeps_the_old_contract_and_may_do_everything(
    client: Client, organizer: User
) -> None:
    response = issue(client, organizer)
    assert response.status_code == 200
    assert set(response.json()) == {"token", "token_type"}
    token = response.json()["token"]
    row = ApiToken.objects.get(user=organizer)
    assert set(row.scopes) == {*API_SCOPES, ACCOUNT_SCOPE}
    assert timedelta(days=89) < row.expires_at - timezone.now() <= timedelta(days=90)
    assert create_event(client, token).status_code == 201


def test_events_read_token_cannot_create_an_event(client: Client, organizer: User) -> None:
    token = issue(client, organizer, scopes=["events:read"]).json()["token"]
    response = create_event(client, token)
    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "INSUFFICIENT_SCOPE"
    assert client.get("/api/v1/organizer/events", headers=bearer(token)).status_code == 200
    # Nor can it act as the buyer: booking needs the account scope.
    orders = client.get(
        "/api/v1/orders/00000000-0000-0000-0000-000000000001", headers=bearer(token)
    )
    assert orders.json()["error"]["code"] == "INSUFFICIENT_SCOPE"


def test_unknown_scope_or_too_long_a_life_is_refused(client: Client, organizer: User) -> None:
    unknown = issue(client, organizer, scopes=["events:read", "admin:everything"])
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "INVALID_TOKEN_REQUEST"
    too_long = issue(client, organizer, expires_in_days=365)
    assert too_long.json()["error"]["code"] == "INVALID_TOKEN_REQUEST"
    assert ApiToken.objects.count() == 0


def test_expired_token_is_refused(client: Client, organizer: User) -> None:
    token = issue(client, organizer, expires_in_days=1).json()["token"]
    assert client.get("/api/v1/organizer/events", headers=bearer(token)).status_code == 200
    for row in ApiToken.objects.all():  # saved, as any change to a token is
        row.expires_at = timezone.now() - timedelta(seconds=1)
        row.save(update_fields=["expires_at"])
    response = client.get("/api/v1/organizer/events", headers=bearer(token))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHENTICATED"


def test_a_token_revoked_elsewhere_works_here_for_at_most_the_cache_lifetime(
    client: Client, organizer: User, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.API_TOKEN_CACHE_SECONDS = 5
    token = issue(client, organizer).json()["token"]
    assert client.get("/api/v1/organizer/events", headers=bearer(token)).status_code == 200
    # Revoked by another web process: this one hears nothing (no signal here).
    ApiToken.objects.update(revoked_at=timezone.now())
    assert client.get("/api/v1/organizer/events", headers=bearer(token)).status_code == 200

    later = time.monotonic() + 5.1
    monkeypatch.setattr(token_lookups, "clock", lambda: later)
    response = client.get("/api/v1/organizer/events", headers=bearer(token))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHENTICATED"


def test_with_the_cache_off_a_token_revoked_elsewhere_stops_at_once(
    client: Client, organizer: User, settings: Any
) -> None:
    settings.API_TOKEN_CACHE_SECONDS = 0
    token = issue(client, organizer).json()["token"]
    assert client.get("/api/v1/organizer/events", headers=bearer(token)).status_code == 200
    ApiToken.objects.update(revoked_at=timezone.now())
    assert client.get("/api/v1/organizer/events", headers=bearer(token)).status_code == 401


def test_a_user_deactivated_in_this_process_loses_the_cached_token_at_once(
    client: Client, organizer: User
) -> None:
    token = issue(client, organizer).json()["token"]
    assert client.get("/api/v1/organizer/events", headers=bearer(token)).status_code == 200
    organizer.is_active = False
    organizer.save(update_fields=["is_active"])
    assert client.get("/api/v1/organizer/events", headers=bearer(token)).status_code == 401


def test_revoked_token_stops_working_and_the_trail_shows_it(
    client: Client, organizer: User
) -> None:
    keeper = issue(client, organizer, name="laptop").json()["token"]
    doomed = issue(client, organizer, name="ci").json()["token"]
    listed = client.get("/api/v1/auth/tokens", headers=bearer(keeper)).json()
    assert {t["name"] for t in listed} == {"laptop", "ci"}
    assert all("token" not in t and "digest" not in t for t in listed)
    doomed_id = next(t["id"] for t in listed if t["name"] == "ci")

    revoked = client.delete(f"/api/v1/auth/tokens/{doomed_id}", headers=bearer(keeper))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert client.get("/api/v1/organizer/events", headers=bearer(doomed)).status_code == 401
    assert client.get("/api/v1/organizer/events", headers=bearer(keeper)).status_code == 200
    actions = list(AuditEntry.objects.filter(actor=organizer).values_list("action", flat=True))
    assert actions.count("api_token.issue") == 2
    assert actions.count("api_token.revoke") == 1


def test_someone_elses_token_cannot_be_revoked(
    client: Client, organizer: User, attendee: User
) -> None:
    issue(client, organizer)
    theirs = ApiToken.objects.get(user=organizer)
    mine = issue(client, attendee).json()["token"]
    response = client.delete(f"/api/v1/auth/tokens/{theirs.pk}", headers=bearer(mine))
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_database_never_holds_the_token_itself(client: Client, organizer: User) -> None:
    token = issue(client, organizer).json()["token"]
    secret_part = token.removeprefix("bo_")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public'"
            " AND data_type IN ('text', 'character varying', 'jsonb', 'json', 'ARRAY')"
        )
        columns = cursor.fetchall()
        found = []
        for table, column in columns:
            cursor.execute(
                f'SELECT 1 FROM "{table}" WHERE "{column}"::text LIKE %s LIMIT 1',  # noqa: S608 - names from the catalogue
                [f"%{secret_part}%"],
            )
            if cursor.fetchone():
                found.append(f"{table}.{column}")
    assert len(columns) > 50  # the search looked at the whole schema
    assert found == []
    assert ApiToken.objects.get().digest == ApiToken.digest_of(token)


def test_database_refuses_a_token_stored_as_plaintext(organizer: User) -> None:
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        ApiToken.objects.create(user=organizer, digest=ApiToken.new_token()[:64])


def authenticated_routes() -> set[str]:
    """ "METHOD view_name" of every API operation that takes a token, from the router itself."""
    from django.urls import resolve

    keys: set[str] = set()
    for prefix, router in api._routers:
        for path, view in router.path_operations.items():
            full = "/api/v1/" + "/".join(p for p in (prefix.strip("/"), path.strip("/")) if p)
            sample = re.sub(r"\{(\w+)\}", "00000000-0000-0000-0000-000000000001", full)
            if "{" in full and resolve(sample) is None:  # pragma: no cover - resolve raises
                continue
            view_name = resolve(sample).view_name
            for operation in view.operations:
                auth = operation.auth_param if operation.auth_param is not NOT_SET else router.auth
                if auth is NOT_SET or auth is None:
                    continue
                keys.update(f"{method} {view_name}" for method in operation.methods)
    return keys


def test_every_route_that_takes_a_token_names_its_scope() -> None:
    routes = authenticated_routes()
    assert len(routes) > 30
    missing = routes - set(API_ROUTE_SCOPES)
    assert not missing, f"Add these routes to accounts/scopes.py API_ROUTE_SCOPES: {missing}"
    stale = set(API_ROUTE_SCOPES) - routes
    assert not stale, f"No such routes any more: {stale}"
    assert set(API_ROUTE_SCOPES.values()) <= {*API_SCOPES, ACCOUNT_SCOPE}


def test_the_hourly_purge_deletes_long_dead_tokens_and_keeps_the_rest(
    client: Client, organizer: User
) -> None:
    for _ in range(4):
        issue(client, organizer)
    live, recently_expired, long_expired, long_revoked = ApiToken.objects.order_by("pk")
    now = timezone.now()
    ApiToken.objects.filter(pk=recently_expired.pk).update(expires_at=now - timedelta(days=2))
    ApiToken.objects.filter(pk=long_expired.pk).update(expires_at=now - timedelta(days=31))
    ApiToken.objects.filter(pk=long_revoked.pk).update(revoked_at=now - timedelta(days=31))

    dead_tokens_purge.delay()  # eager in tests: the task as beat runs it

    kept = set(ApiToken.objects.values_list("pk", flat=True))
    assert kept == {live.pk, recently_expired.pk}
    assert AuditEntry.objects.filter(action="api_token.issue").count() == 4
