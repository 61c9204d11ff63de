from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _no_page_cache(settings, request) -> Iterator[None]:
    """Page-level caching is tested on purpose (marked `page_cache`), not met by surprise."""
    if "page_cache" not in request.keywords:
        settings.EVENTS_PAGE_CACHE_SECONDS = 0
        settings.EVENTS_AVAILABILITY_SECONDS = 0
        settings.EVENTS_LISTING_CACHE_SECONDS = 0
    yield
