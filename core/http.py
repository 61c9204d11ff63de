"""Request types for handlers that only run for a signed-in user (pages and the API)."""

from typing import TYPE_CHECKING

from django.http import HttpRequest, JsonResponse

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


# Everything under this prefix speaks JSON, errors included.
API_PREFIX = "/api/"

# Stable codes for errors that come from HTTP itself rather than from a service.
HTTP_ERROR_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    414: "URI_TOO_LONG",
    429: "RATE_LIMITED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}

HTTP_ERROR_MESSAGES = {
    400: "The request could not be understood.",
    401: "Send a valid token: Authorization: Bearer <token>.",
    403: "You are not allowed to do that.",
    404: "Not found.",
    405: "This method is not allowed here.",
    413: "The request body is too large.",
    414: "The request line is too long.",
    429: "Too many requests; slow down.",
    500: "Something went wrong on our side.",
    503: "The service is unavailable; try again in a moment.",
}


def is_api_request(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def json_error(status: int, code: str | None = None, message: str | None = None) -> JsonResponse:
    """The API's error envelope: {"error": {"code": ..., "message": ...}}."""
    return JsonResponse(
        {
            "error": {
                "code": code or HTTP_ERROR_CODES.get(status, f"HTTP_{status}"),
                "message": message or HTTP_ERROR_MESSAGES.get(status, "The request failed."),
            }
        },
        status=status,
    )
