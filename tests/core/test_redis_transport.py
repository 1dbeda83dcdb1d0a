"""The broker transport for Redis (apps/core/redis_transport.py): kombu's, with client
objects kept per channel; messages still go round."""

from __future__ import annotations

import uuid

import pytest
from kombu import Connection, Exchange, Queue

from apps.core.redis_transport import Transport


@pytest.fixture
def url(settings):
    # The services run's broker (this module does not run in the embedded run).
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    return settings.CELERY_BROKER_URL


def test_a_channel_builds_one_client_per_pool_and_rebuilds_it_for_a_new_pool(url):
    with Connection(url, transport=Transport) as connection:
        channel = connection.default_channel
        assert channel._create_client() is channel._create_client()
        assert channel.client is channel.client  # the asynchronous pool's
        assert channel.client is not channel._create_client()
        before = channel._create_client()
        channel._pool = None  # as after a reconnect: the channel builds a new pool
        after = channel._create_client()
        assert after is not before
        assert after.connection_pool is channel.pool


def test_messages_published_and_acknowledged_through_it_arrive_once(url):
    name = f"transport-test-{uuid.uuid4().hex}"
    queue = Queue(name, Exchange(name, type="direct"), routing_key=name)
    with Connection(url, transport=Transport) as connection:
        queue(connection.default_channel).declare()
        producer = connection.Producer()
        for i in range(20):
            producer.publish({"n": i}, exchange=queue.exchange, routing_key=name)
        seen, tags = [], []
        with connection.SimpleQueue(queue) as simple:
            for _ in range(20):
                message = simple.get(timeout=5)
                seen.append(message.payload["n"])
                tags.append(message.delivery_tag)
                message.ack()
            with pytest.raises(simple.Empty):  # each message came once
                simple.get(timeout=0.5)
        channel = connection.default_channel
        # Every acknowledgement landed (the hash is shared by the broker's other users).
        assert not [tag for tag in tags if channel.client.hexists(channel.unacked_key, tag)]
    assert seen == list(range(20))
