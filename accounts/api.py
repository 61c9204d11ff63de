from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from accounts.services import api_token_issue, user_sign_up
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


class TokenOut(Schema):
    token: str
    token_type: str = "bearer"  # noqa: S105 - the scheme name, not a secret


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
        email=body.email, password=body.password, address=client_ip(request), request=request
    )
    return TokenOut(token=issued)
