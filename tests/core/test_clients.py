from __future__ import annotations

import os

import pytest

from apps.core.clients import redis_client

pytestmark = pytest.mark.embedded

URL = "redis://127.0.0.1:1/0"  # never connected to: building a client opens no socket


def test_one_url_with_the_same_timeouts_gets_one_client_per_process():
    assert redis_client(URL, socket_timeout=2) is redis_client(URL, socket_timeout=2)


def test_each_caller_keeps_its_own_timeouts():
    probe = redis_client(URL, socket_timeout=1)
    limiter = redis_client(URL, socket_timeout=2, socket_connect_timeout=2)
    assert probe is not limiter
    assert probe.connection_pool.connection_kwargs["socket_timeout"] == 1
    assert limiter.connection_pool.connection_kwargs["socket_timeout"] == 2
    assert limiter.connection_pool.connection_kwargs["socket_connect_timeout"] == 2
    assert redis_client(URL).connection_pool.connection_kwargs["socket_timeout"] is None


def test_a_forked_process_builds_a_client_of_its_own():
    parent = redis_client(URL)
    pid = os.fork()
    if pid == 0:  # the child: exit status 0 only if it got a new client
        os._exit(0 if redis_client(URL) is not parent and redis_client(URL) is redis_client(URL) else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert redis_client(URL) is parent
