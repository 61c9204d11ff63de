from collections.abc import Iterator

import pytest
from django.conf import settings
from django_redis import get_redis_connection
from redis.exceptions import RedisError


@pytest.fixture(autouse=True)
def _forget_gate_counters() -> Iterator[None]:
    """Admission-gate counters live outside the cache's versioned keys, which the root
    conftest clears; drop this prefix's counters too, so tests leave nothing in Redis."""
    yield
    pattern = f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:gate:*"
    try:
        client = get_redis_connection("default")
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            client.delete(*keys)
    except RedisError:  # a test that stopped its own Redis
        pass
