from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from accounts.api_auth import bearer
from accounts.models import User
from accounts.scopes import PERSONAL_TOKEN_SCOPES
from accounts.selectors import api_tokens_of
from accounts.services import api_token_issue, api_token_revoke, user_sign_up
from core.http import client_ip

router = Router(tags=["auth"])


class SignUpIn(Schema):
    email: str = Field(max_length=254)
    password: str = Field(min_length=1, max_length=128)
    full_name: str = Field(default="", max_length=150)


class SignUpOut(Schema):
    user_id: int
    email: str


class TokenIn(Schema):
    email: str = Field(max_length=254)
    password: str = Field(max_length=128)
    scopes: list[str] | None = Field(
        default=None,
        max_length=len(PERSONAL_TOKEN_SCOPES),
        description="What the token may do; all of: "
        + ", ".join(PERSONAL_TOKEN_SCOPES)
        + " when left out.",
    )
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)
    name: str = Field(default="", max_length=100)


class TokenOut(Schema):
    token: str
    token_type: str = "bearer"  # noqa: S105 - the scheme name, not a secret


class TokenInfoOut(Schema):
    id: int
    name: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


@router.post("/signup", response={201: SignUpOut}, auth=None)
def signup(request: HttpRequest, body: SignUpIn) -> SignUpOut:
    user = user_sign_up(email=body.email, password=body.password, full_name=body.full_name)
    return SignUpOut(user_id=user.pk, email=user.email)


@router.post(
    "/token",
    response=TokenOut,
    auth=None,
    description="Wrong passwords are limited per account and per client address: after a few, "
    "each attempt must wait longer (429 RATE_LIMITED with Retry-After); at the limit the account "
    "pauses until the window ends or its owner follows the emailed unlock link.",
)
def token(request: HttpRequest, body: TokenIn) -> TokenOut:
    issued = api_token_issue(
        email=body.email,
        password=body.password,
        address=client_ip(request),
        request=request,
        scopes=body.scopes,
        expires_in_days=body.expires_in_days,
        name=body.name,
    )
    return TokenOut(token=issued)


@router.get("/tokens", response=list[TokenInfoOut], auth=bearer)
def tokens(request: HttpRequest) -> list[TokenInfoOut]:
    """Your personal tokens (never the tokens themselves: only their digests are kept)."""
    user: User = request.auth  # type: ignore[attr-defined]
    return [TokenInfoOut.model_validate(t, from_attributes=True) for t in api_tokens_of(user)]


@router.delete("/tokens/{token_id}", response=TokenInfoOut, auth=bearer)
def revoke_token(request: HttpRequest, token_id: int) -> TokenInfoOut:
    user: User = request.auth  # type: ignore[attr-defined]
    revoked = api_token_revoke(user=user, token_id=token_id, address=client_ip(request))
    return TokenInfoOut.model_validate(revoked, from_attributes=True)
