"""The outermost middleware: the error contract of the whole site, held in one place.

- A request body over DATA_UPLOAD_MAX_MEMORY_SIZE is refused before anything reads it:
  413 with the JSON envelope under /api/, a short page elsewhere. Django would otherwise raise
  RequestDataTooBig wherever the body is first read (a view, the CSRF check, the API's parser),
  which ends as a 400 or a 500 depending on who read it.
- Under /api/ no error leaves as HTML: whatever answered a 4xx or 5xx that is not JSON (the URL
  resolver's 404, a 405 for a wrong method, a 500 from code outside the API's own handlers) is
  turned into {"error": {"code": ..., "message": ...}}, keeping Allow and Retry-After.
"""

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template.loader import render_to_string

from core.http import is_api_request, json_error

# Multipart bodies carry files, which Django streams to disk and limits by other settings;
# DATA_UPLOAD_MAX_MEMORY_SIZE only counts their non-file part, so their length is not judged here.
_STREAMED_CONTENT_TYPES = ("multipart/form-data",)
_KEPT_HEADERS = ("Allow", "Retry-After")


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def body_too_large(request: HttpRequest) -> bool:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None:
        return False
    content_type = request.META.get("CONTENT_TYPE", "")
    if content_type.startswith(_STREAMED_CONTENT_TYPES):
        return False
    return _declared_length(request) > limit


def payload_too_large(request: HttpRequest) -> HttpResponse:
    limit_mb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / (1024 * 1024)
    message = f"The request body is larger than the {limit_mb:.1f} MB this site accepts."
    if is_api_request(request):
        response: HttpResponse = json_error(413, "PAYLOAD_TOO_LARGE", message)
    else:
        # Rendered without the request: none of the middleware that fills it in has run yet.
        response = HttpResponse(render_to_string("413.html", {"message": message}), status=413)
    # The body was never read: the connection cannot carry another request after this one.
    response["Connection"] = "close"
    return response


def _is_json(response: HttpResponseBase) -> bool:
    return str(response.get("Content-Type", "")).startswith("application/json")


def _as_api_error(response: HttpResponseBase) -> HttpResponse:
    converted = json_error(response.status_code)
    for header in _KEPT_HEADERS:
        if header in response:
            converted[header] = response[header]
    return converted


class ErrorContractMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if body_too_large(request):
            return payload_too_large(request)
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and is_api_request(request)
            and not response.streaming
            and not _is_json(response)
        ):
            return _as_api_error(response)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # Whatever reads a body and finds it over the limit after all (a multipart form's fields).
        if isinstance(exception, RequestDataTooBig):
            return payload_too_large(request)
        return None
