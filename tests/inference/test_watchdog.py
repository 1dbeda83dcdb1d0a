"""The inference worker's watchdog: a worker that stops flushing while work waits says so,
in its heartbeat, in /readyz and in its log."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse

from apps.inference.heartbeat import heartbeat_write, worker_details_source
from apps.inference.tasks import classify

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


@pytest.fixture
def batches() -> Iterator[Any]:
    """The batched task as the worker holds it, its watchdog state restored afterwards."""
    task = classify._get_current_object()
    saved = {name: getattr(task, name) for name in ("_waiting_since", "_last_flush", "_last_message")}
    yield task
    for name, value in saved.items():
        setattr(task, name, value)
    worker_details_source(dict)  # this process's later heartbeats carry no verdict


def test_requests_waiting_past_the_limit_without_a_flush_make_the_worker_stalled(batches, settings, client):
    settings.INFERENCE_STALL_SECONDS = 5
    settings.READYZ_REQUIRE_WORKERS = False
    worker_details_source(batches.details)
    now = time.monotonic()
    batches._last_message = batches._waiting_since = now - 1
    assert batches.health() == {"stalled": False, "stall": ""}
    record = heartbeat_write(hostname="watched@test", queues=["inference"], started_at=time.time())
    assert record["stalled"] is False
    assert client.get(reverse("readyz")).status_code == 200

    # The flush timer never fired (as after a reconnect that lost it).
    batches._waiting_since = now - 6
    verdict = batches.health()
    assert verdict["stalled"] is True
    assert "without a flush" in verdict["stall"]
    heartbeat_write(hostname="watched@test", queues=["inference"], started_at=time.time())
    response = client.get(reverse("readyz"))
    assert response.status_code == 503
    workers = response.json()["checks"]["workers"]
    assert workers["stalled"] == ["watched@test"]
    assert workers["error"] == "inference worker stalled: watched@test"

    # A flush empties the buffer: the next beat clears the verdict.
    batches._do_flush()
    assert batches._waiting_since is None
    heartbeat_write(hostname="watched@test", queues=["inference"], started_at=time.time())
    assert client.get(reverse("readyz")).status_code == 200
