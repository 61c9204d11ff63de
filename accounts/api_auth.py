"""Bearer-token authentication for every app's API router."""

from django.http import HttpRequest
from ninja.security import HttpBearer

from accounts.models import User
from accounts.services import api_token_user


class BearerAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = api_token_user(token)
        if user is not None:
            request.user = user
        return user


bearer = BearerAuth()
