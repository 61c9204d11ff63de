"""Request types for handlers that only run for a signed-in user (pages and the API)."""

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    # Only for annotations: core imports no app at run time.
    from accounts.models import User


class AuthedRequest(HttpRequest):
    """A page request behind @login_required."""

    user: "User"


class ApiRequest(HttpRequest):
    """An API request behind bearer auth: `auth` is the token's user."""

    auth: "User"
    user: "User"
