"""Kombu's Redis transport with one fix: a worker that loses Redis while a task of it is not yet
acknowledged keeps running and reconnects, instead of ending with an "Unrecoverable error".

When the connection breaks, Celery closes it before reconnecting. Closing the channel puts the
unacknowledged tasks back in their queue, which needs a new Redis client; by then the transport
has let go of its connection settings (`client` is None) and kombu 5.7 fails on
`None.hostname` with an AttributeError that nothing catches, so the worker process exits. Here
that case is a connection error, which the close already ignores: the tasks stay in kombu's
unacknowledged set and come back after the visibility timeout, and the outbox's re-dispatcher
sends whatever message was still pending well before that.
"""

from typing import Any

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> Any:
        if self.connection.client is None:
            raise RedisConnectionError("the broker connection is already closed")
        return super()._connparams(asynchronous=asynchronous)  # type: ignore[misc]  # kombu untyped


class Transport(kombu_redis.Transport):
    Channel = Channel
