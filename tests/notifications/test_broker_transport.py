"""The Redis broker transport: closing a channel whose connection is already gone (what Celery
does after losing Redis mid-task) is a connection error the close ignores, not a crash."""

from collections.abc import Callable
from typing import Any

import pytest
from kombu import Connection, Queue
from kombu.transport import redis as kombu_redis

from config import broker


def _close_after_the_connection_let_go(url: str, transport: type) -> Callable[[], Any]:
    """A channel holding one unacknowledged message, its transport's settings dropped (as
    kombu's Connection does when it closes), and the close Celery then attempts."""
    connection = Connection(url, transport=transport)
    channel: Any = connection.channel()  # the Redis channel: kombu types only its common part
    queue = Queue("broker-transport-test", channel=channel)
    queue.declare()
    queue.purge()
    channel.basic_publish(
        channel.prepare_message("ping"), exchange="", routing_key="broker-transport-test"
    )
    delivered = queue.get(no_ack=False)
    assert delivered is not None  # unacknowledged: the close wants to put it back
    channel._disconnect_pools()  # what Channel.close does first
    connection.transport.client = None
    return lambda: connection.maybe_close_channel(channel)


def test_closing_after_the_connection_let_go_is_ignored(private_broker: str) -> None:
    close = _close_after_the_connection_let_go(private_broker, broker.Transport)

    close()  # no exception: the consumer goes on to reconnect


def test_negative_control_kombus_own_transport_crashes_there(private_broker: str) -> None:
    close = _close_after_the_connection_let_go(private_broker, kombu_redis.Transport)

    with pytest.raises(AttributeError, match="hostname"):
        close()


def test_the_project_uses_it_for_a_redis_broker() -> None:
    from config.celery import app

    assert app.conf.broker_transport == "config.broker:Transport"
    with app.connection_for_write() as connection:
        assert isinstance(connection.transport, broker.Transport)
