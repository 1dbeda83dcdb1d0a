"""kombu's Redis transport with one client object per channel instead of one per command.

kombu builds a new ``redis.Redis`` for every publish, every acknowledgement and every
turn of a consumer's BRPOP loop (``Channel._create_client``). The connection comes from
the channel's pool either way; what is built anew each time is the client object, whose
constructor registers some 170 response callbacks: about a tenth of a millisecond of CPU,
several times per job on the web side and in the inference worker. Here each channel
keeps the client it built for each of its two pools and hands it out again. A
``redis.Redis`` is safe to share between threads (each command takes its own connection
from the pool), and a channel that reconnects builds new pools, so a client is rebuilt
whenever the pool it was made for is not the channel's pool any more.

Used for ``redis://`` and ``rediss://`` brokers (``portal/celery.py``); nothing else in
the transport changes.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _clients: dict[bool, Any]

    def _create_client(self, asynchronous: bool = False) -> Any:
        clients = self.__dict__.setdefault("_clients", {})
        pool = self.async_pool if asynchronous else self.pool
        client = clients.get(asynchronous)
        if client is None or client.connection_pool is not pool:
            client = super()._create_client(asynchronous=asynchronous)  # type: ignore[misc]  # kombu's, untyped in the stubs
            clients[asynchronous] = client
        return client


class Transport(kombu_redis.Transport):
    Channel = Channel
