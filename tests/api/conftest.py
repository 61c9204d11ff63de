import json
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from tests.factories import PASSWORD


class Api:
    """JSON calls to /api/v1 as one user (or anonymously)."""

    def __init__(self, client: Client, token: str | None = None) -> None:
        self.client = client
        self.token = token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.get(f"/api/v1{path}", params or {}, headers=self.headers())

    def post(self, path: str, body: Any = None, *, raw: str | bytes | None = None) -> Any:
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(
            f"/api/v1{path}", data, content_type="application/json", headers=self.headers()
        )


def login(client: Client, user: User) -> Api:
    response = client.post(
        "/api/v1/auth/token",
        json.dumps({"email": user.email, "password": PASSWORD}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return Api(client, response.json()["token"])


@pytest.fixture
def anonymous(client: Client, db: None) -> Api:
    return Api(client)


@pytest.fixture
def as_attendee(client: Client, attendee: User) -> Api:
    return login(client, attendee)


@pytest.fixture
def as_organizer(client: Client, organizer: User) -> Api:
    return login(client, organizer)


@pytest.fixture
def as_door(client: Client, door_staff: User) -> Api:
    return login(client, door_staff)
