"""Rate limits in process: the client address, the sign-in guard on the login page, the unlock
link, and the route table for pages and the API."""

import re

import pytest
from django.core import mail
from django.test import Client, RequestFactory

from accounts.models import User
from core.http import client_ip
from events.models import TicketTier
from notifications.models import Message, Topic
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("198.51.100.7", "1.2.3.4", [], "198.51.100.7"),  # nobody trusted: header ignored
        ("198.51.100.7", "1.2.3.4", ["10.0.0.0/8"], "198.51.100.7"),  # peer not a proxy
        ("10.0.0.2", "1.2.3.4", ["10.0.0.0/8"], "1.2.3.4"),
        # The client wrote "6.6.6.6" itself; our proxy appended the address it saw.
        ("10.0.0.2", "6.6.6.6, 1.2.3.4", ["10.0.0.0/8"], "1.2.3.4"),
        ("10.0.0.2", "6.6.6.6, 1.2.3.4, 10.0.0.9", ["10.0.0.0/8"], "1.2.3.4"),  # two proxies
        ("10.0.0.2", "garbage", ["10.0.0.0/8"], "10.0.0.2"),
        ("10.0.0.2", "", ["10.0.0.0/8"], "10.0.0.2"),
        ("2001:db8::1", "2001:db8:1::5", ["2001:db8::/64"], "2001:db8:1::5"),
    ],
)
def test_client_ip_believes_x_forwarded_for_only_from_a_trusted_proxy(
    settings, peer: str, forwarded: str, trusted: list[str], expected: str
) -> None:
    settings.TRUSTED_PROXIES = trusted
    request = RequestFactory().get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == expected


def login(client: Client, email: str, password: str) -> str:
    response = client.post("/accounts/login/", {"login": email, "password": password})
    return "ok" if response.status_code == 302 else response.content.decode()


def test_login_page_locks_an_account_after_ten_failures_and_the_emailed_link_unlocks_it(
    settings, django_capture_on_commit_callbacks
) -> None:
    settings.SIGNIN_DELAY_BASE_SECONDS = 0  # the back-off is tested on its own below
    user: User = UserFactory.create()
    with django_capture_on_commit_callbacks(execute=True):  # the outbox sends after commit
        pages = [login(Client(), user.email, f"wrong-{n}") for n in range(10)]
    assert all(page != "ok" for page in pages)

    locked = login(Client(), user.email, PASSWORD)

    assert "locked after too many failed sign-ins" in locked
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [user.email]
    # Through the outbox like every message, and the row keeps no token that could unlock.
    [message] = Message.objects.filter(topic=Topic.SIGNIN_PAUSED, user=user)
    assert message.data == {}
    link = re.search(r"http://\S+/account/unlock\?token=\S+", str(mail.outbox[0].body))
    assert link is not None
    path = link.group(0).split("/", 3)[3]
    page = Client().get("/" + path)
    assert page.status_code == 200
    token = re.search(r'name="token" value="([^"]+)"', page.content.decode())
    assert token is not None
    assert Client().post("/account/unlock", {"token": token.group(1)}).status_code == 302

    assert login(Client(), user.email, PASSWORD) == "ok"


def test_a_forged_unlock_token_unlocks_nothing(settings) -> None:
    settings.SIGNIN_DELAY_BASE_SECONDS = 0
    user: User = UserFactory.create()
    for n in range(10):
        login(Client(), user.email, f"wrong-{n}")

    assert Client().post("/account/unlock", {"token": f"{user.email}:forged"}).status_code == 400
    assert "locked" in login(Client(), user.email, PASSWORD)


def test_each_failure_after_the_free_ones_doubles_the_wait(client: Client) -> None:
    user: User = UserFactory.create()
    waits = []
    for n in range(6):
        response = client.post(
            "/api/v1/auth/token",
            {"email": user.email, "password": f"wrong-{n}"},
            content_type="application/json",
        )
        waits.append((response.status_code, response.headers.get("Retry-After")))

    # Three free mistakes, a fourth that is answered and starts a 1 s wait: the fifth comes
    # too soon and is refused without a password check.
    assert waits[:4] == [(401, None)] * 4
    assert waits[4] == (429, "1")
    from core import ratelimit

    ratelimit.clear("signin_delay", user.email)  # as if a second went by
    response = client.post(
        "/api/v1/auth/token",
        {"email": user.email, "password": "wrong-again"},
        content_type="application/json",
    )
    assert response.status_code == 401
    assert ratelimit.held("signin_delay", user.email) == 2


def test_a_correct_password_clears_the_accounts_count(client: Client, settings) -> None:
    settings.SIGNIN_DELAY_BASE_SECONDS = 0
    user: User = UserFactory.create()
    for n in range(9):
        login(Client(), user.email, f"wrong-{n}")
    assert login(Client(), user.email, PASSWORD) == "ok"

    for n in range(9):
        assert login(Client(), user.email, f"again-{n}") != "ok"
    assert login(Client(), user.email, PASSWORD) == "ok"


def test_search_pages_are_limited_per_address(client: Client, settings) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "search_ip": "3/m"}

    statuses = [client.get("/events/", REMOTE_ADDR="198.51.100.1").status_code for _ in range(4)]
    other = client.get("/events/", REMOTE_ADDR="198.51.100.2")
    api = client.get("/api/v1/search", REMOTE_ADDR="198.51.100.3")
    for _ in range(3):
        api = client.get("/api/v1/search", REMOTE_ADDR="198.51.100.3")

    assert statuses == [200, 200, 200, 429]
    assert other.status_code == 200
    assert api.status_code == 429
    assert api.json()["error"]["code"] == "RATE_LIMITED"
    assert 0 < int(api["Retry-After"]) <= 60


def test_booking_is_limited_per_buyer(client: Client, settings, tier: TicketTier) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "booking_buyer": "2/m"}
    buyers = [UserFactory.create() for _ in range(2)]
    tokens = []
    for buyer in buyers:
        response = client.post(
            "/api/v1/auth/token",
            {"email": buyer.email, "password": PASSWORD},
            content_type="application/json",
        )
        tokens.append(response.json()["token"])

    def register(token: str, n: int) -> int:
        return client.post(
            f"/api/v1/events/{tier.event_id}/register",
            {"tier_id": str(tier.pk), "quantity": 1, "idempotency_key": f"k{n}"},
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        ).status_code

    first = [register(tokens[0], n) for n in range(3)]
    second = register(tokens[1], 9)

    assert first == [201, 201, 429]
    assert second == 201


def test_api_signup_is_limited_per_address(client: Client, settings) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "signup_ip": "2/h"}

    statuses = [
        client.post(
            "/api/v1/auth/signup",
            {"email": f"new{n}@example.com", "password": "a-long-passphrase-42"},
            content_type="application/json",
        ).status_code
        for n in range(3)
    ]

    assert statuses == [201, 201, 429]


def test_the_oauth_token_endpoint_is_limited_per_address_and_answers_json(
    client: Client, settings
) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "oauth_token_ip": "3/m"}
    guess = {"grant_type": "client_credentials", "client_id": "leaked", "client_secret": "guess"}

    answers = [client.post("/o/token/", guess, REMOTE_ADDR="198.51.100.9") for _ in range(4)]
    introspect = client.post("/o/introspect/", {"token": "x"}, REMOTE_ADDR="198.51.100.9")
    elsewhere = client.post("/o/token/", guess, REMOTE_ADDR="198.51.100.10")

    assert [a.status_code for a in answers[:3]] == [401, 401, 401]  # wrong secret, counted
    assert answers[3].status_code == 429
    assert answers[3].json()["error"]["code"] == "RATE_LIMITED"
    assert 0 < int(answers[3]["Retry-After"]) <= 60
    assert introspect.status_code == 429
    assert elsewhere.status_code == 401
