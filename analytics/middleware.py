from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from analytics.pageviews import page_view_record

# The public event page, with or without its slug (events/urls.py).
EVENT_PAGES = {"events:detail", "events:detail_slug"}
BOT_MARKERS = ("bot", "crawler", "spider", "preview")


class EventPageViewMiddleware:
    """Counts successful GETs of event pages, cached ones included (they still pass through)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = request.resolver_match
        if (
            request.method == "GET"
            and response.status_code == 200
            and match is not None
            and match.view_name in EVENT_PAGES
        ):
            agent = request.headers.get("User-Agent", "")
            if not any(marker in agent.lower() for marker in BOT_MARKERS):
                session_key = getattr(request, "session", None) and request.session.session_key
                visitor = session_key or f"{request.META.get('REMOTE_ADDR', '')}|{agent}"
                page_view_record(event_id=match.kwargs["event_id"], visitor=visitor)
        return response
