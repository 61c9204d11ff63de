"""Who may open what: every page route (walked from the URL configuration) and every API
operation (read from /api/v1/openapi.json), requested as each role, answers the status the
table in tests/security/permission_table.py says.

A route that is not in the table fails `test_every_route_is_classified`, so a new route must be
given its rule before it ships. Every request runs in a savepoint that is rolled back, so a
`POST .../delete` by the owner does not change what the next request sees; one world is built
per module (building it is the slow part).
"""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from config.api import api
from tests.factories import PASSWORD
from tests.security.matrix_world import ROLES, World, world_build
from tests.security.permission_table import API_TABLE, PAGE_TABLE, Rule, rule_for

# Also tells pytest-django to create the test database, which the module's world lives in.
pytestmark = pytest.mark.django_db

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass(frozen=True)
class Route:
    key: str  # the table key: the URL name, or "METHOD /api/v1/..." for API operations
    pattern: str
    name: str | None
    method: str = "GET"


def page_routes() -> list[Route]:
    """Every route of the URL configuration except the API's (the schema lists those)."""
    found: list[Route] = []

    def walk(resolver: URLResolver, prefix: str, namespace: str | None) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                inner = entry.namespace
                ns = f"{namespace}:{inner}" if namespace and inner else inner or namespace
                walk(entry, prefix + str(entry.pattern), ns)
            elif isinstance(entry, URLPattern):
                pattern = prefix + str(entry.pattern)
                if pattern.startswith("api/v1/"):
                    continue
                name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
                found.append(Route(key=name or pattern, pattern=pattern, name=name))

    walk(get_resolver(), "", None)
    return found


def api_routes(schema: dict[str, Any]) -> list[Route]:
    return [
        Route(key=f"{method.upper()} {path}", pattern=path, name=None, method=method.upper())
        for path, operations in schema["paths"].items()
        for method in operations
    ]


PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)|\{(\w+)\}")


def parameters_of(pattern: str) -> list[str]:
    return [next(g for g in match.groups() if g) for match in PARAMETER.finditer(pattern)]


def admin_model_is_empty(route: Route) -> bool:
    match = re.match(r"admin/(\w+)/(\w+)/.*object_id", route.pattern)
    if match is None:
        return False
    return not apps.get_model(match.group(1), match.group(2))._default_manager.exists()


def admin_object(route: Route) -> dict[str, Any]:
    """The admin's object routes need an existing row of their model: its first one."""
    match = re.match(r"admin/(\w+)/(\w+)/", route.pattern)
    values: dict[str, Any] = {}
    if match and "object_id" in route.pattern:
        model = apps.get_model(match.group(1), match.group(2))
        first = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
        # A model without rows: the admin answers an unknown id by going back to its index.
        values["object_id"] = first if first is not None else 0
    if "content_type_id" in route.pattern:
        event_type = ContentType.objects.get(app_label="events", model="event")
        values["content_type_id"] = event_type.pk
        values["object_id"] = event_type.model_class()._default_manager.order_by("pk")[0].pk  # type: ignore[union-attr]
    if route.pattern.startswith("admin/accounts/user/<id>"):
        values["id"] = apps.get_model("accounts", "user").objects.order_by("pk")[0].pk
    return values


def url_of(route: Route, rule: Rule, world: World) -> str:
    values = {**world.values, **{k: world.values.get(v, v) for k, v in rule.params.items()}}
    if route.pattern.startswith("admin/"):
        values.update(admin_object(route))
    kwargs = {name: values[name] for name in parameters_of(route.pattern)}
    if route.pattern.startswith("/api/"):
        path = route.pattern
        for name, value in kwargs.items():
            path = path.replace("{" + name + "}", str(value))
        return path
    if route.name:
        return reverse(route.name, kwargs=kwargs)
    path = "/" + route.pattern
    for name, value in kwargs.items():
        path = re.sub(rf"<(?:\w+:)?{name}>", str(value), path)
    return path


def fill(value: Any, world: World) -> Any:
    """Body templates name world values as "{name}"."""
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return str(world.values[value[1:-1]])
    if isinstance(value, dict):
        return {k: fill(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, world) for v in value]
    return value


class Caller:
    """Sends one route's request as each role; every request is rolled back."""

    def __init__(self, world: World, tokens: dict[str, str]) -> None:
        self.world = world
        self.tokens = tokens
        # Signed in once, here, so the sessions live as long as the world does.
        self.clients: dict[str, Client] = {}
        for role, person in world.people.items():
            self.clients[role] = Client()
            if person is not None:
                self.clients[role].force_login(person)

    def client_for(self, role: str) -> Client:
        return self.clients[role]

    def status(self, route: Route, rule: Rule, role: str) -> int:
        url = url_of(route, rule, self.world)
        client = self.client_for(role)
        headers: dict[str, str] = {}
        if route.pattern.startswith("/api/") and role in self.tokens:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        # A savepoint marked as the test case's own, so services that insist on being the
        # outermost transaction (durable=True) still run inside it.
        savepoint = transaction.atomic()
        savepoint._from_testcase = True  # type: ignore[attr-defined]
        # Each role's attempt counts on its own: the rate limits are tested elsewhere.
        cache.delete_pattern("rl:*")  # type: ignore[attr-defined]
        method = route.method if route.pattern.startswith("/api/") else rule.method
        with savepoint:
            if method == "GET":
                response = client.get(url, headers=headers)
            elif route.pattern.startswith("/api/"):
                body = json.dumps(fill(rule.body, self.world)) if rule.body is not None else ""
                response = client.generic(
                    method, url, body, content_type="application/json", headers=headers
                )
            else:
                response = client.post(url, fill(rule.body or {}, self.world), headers=headers)
            transaction.set_rollback(True)
        return response.status_code


@pytest.fixture(scope="module")
def caller(django_db_setup: None, django_db_blocker: Any) -> Iterator[Caller]:
    # Stripe configured as in production, so its webhook judges the signature.
    configured = override_settings(
        PASSWORD_HASHERS=FAST_HASHERS, STRIPE_WEBHOOK_SECRET="whsec_matrix"
    )
    with django_db_blocker.unblock(), configured:
        outer = transaction.atomic()
        outer._from_testcase = True  # type: ignore[attr-defined]
        with outer:
            world = world_build()
            tokens = {}
            for role, person in world.people.items():
                if person is None:
                    continue
                response = Client().post(
                    "/api/v1/auth/token",
                    json.dumps({"email": person.email, "password": PASSWORD}),
                    content_type="application/json",
                )
                assert response.status_code == 200, response.content
                tokens[role] = response.json()["token"]
            yield Caller(world, tokens)
            transaction.set_rollback(True)


PAGES = page_routes()
# Collected from the schema object /api/v1/openapi.json serves (a request needs the database,
# which collection may not touch); test_the_served_schema_lists_the_same_operations holds the two
# together.
API = api_routes(api.get_openapi_schema())


def test_the_served_schema_lists_the_same_operations(client: Client) -> None:
    served = api_routes(client.get("/api/v1/openapi.json").json())
    assert {r.key for r in served} == {r.key for r in API}


def test_every_route_is_classified() -> None:
    missing = [r.key for r in PAGES if rule_for(PAGE_TABLE, r.key) is None]
    missing += [r.key for r in API if r.key not in API_TABLE]
    assert not missing, "Routes without a rule in tests/security/permission_table.py:\n" + (
        "\n".join(missing)
    )


def test_the_table_names_only_routes_that_exist() -> None:
    keys = {r.key for r in PAGES} | {r.key for r in API}
    stale = [k for k in [*PAGE_TABLE, *API_TABLE] if "*" not in k and k not in keys]
    assert not stale, f"Rules for routes that no longer exist: {stale}"


def check(caller: Caller, route: Route, rule: Rule | None) -> None:
    if rule is None:
        pytest.fail(f"{route.key} has no rule")
    with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        observed = {role: caller.status(route, rule, role) for role in ROLES}
    expected = dict(zip(ROLES, rule.statuses, strict=True))
    if expected["admin"] == 200 and admin_model_is_empty(route):
        expected["admin"] = 302  # an unknown object: the admin goes back to its index
    wrong = {
        role: f"expected {expected[role]}, got {observed[role]}"
        for role in ROLES
        if observed[role] != expected[role]
    }
    method = route.method if route.pattern.startswith("/api/") else rule.method
    assert not wrong, f"{method} {url_of(route, rule, caller.world)}: {wrong}"


@pytest.mark.parametrize("route", PAGES, ids=lambda r: r.key)
def test_page_route_answers_each_role_as_the_table_says(caller: Caller, route: Route) -> None:
    check(caller, route, rule_for(PAGE_TABLE, route.key))


@pytest.mark.parametrize("route", API, ids=lambda r: r.key)
def test_api_operation_answers_each_role_as_the_table_says(caller: Caller, route: Route) -> None:
    check(caller, route, API_TABLE.get(route.key))
