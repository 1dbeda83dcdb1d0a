"""A flush pending when the broker connection drops still happens after the reconnect.

The event loop drops its timers with the old connection. The flush interval is stretched
to 4 s here, so that a job is sure to wait in the worker's buffer, with its flush timer
armed, while Redis restarts: the deterministic form of the stall seen under load.
"""

from __future__ import annotations

import time

import pytest
import requests

from .conftest import require_services, unlimited_key
from .load import classify

pytestmark = [pytest.mark.worker, pytest.mark.faults]

FLUSH_S = 4.0


def _status(base_url: str, raw: str, job_id: str) -> str:
    response = requests.get(f"{base_url}/api/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {raw}"}, timeout=10)
    return str(response.json().get("status", response.status_code))


def _finished_within(base_url: str, raw: str, job_id: str, seconds: float) -> tuple[bool, str]:
    deadline = time.monotonic() + seconds
    status = ""
    while time.monotonic() < deadline:
        try:
            status = _status(base_url, raw, job_id)
        except (requests.RequestException, ValueError) as exc:
            status = type(exc).__name__
        if status == "succeeded":
            return True, status
        time.sleep(0.2)
    return False, status


def test_a_job_buffered_when_redis_restarts_is_flushed_after_the_reconnect_and_so_are_later_ones(
    stack, fixed_head, loadtester
):
    require_services()
    redis = stack.redis()
    stack.configure(
        cache=redis.url(0),
        broker=redis.url(1),
        results=redis.url(1),
        INFERENCE_FLUSH_MS=str(FLUSH_S * 1000),
        INFERENCE_MAX_WAIT_MS="0",
    )
    _key, raw = unlimited_key(loadtester)
    web = stack.start()

    answer, body = classify(web.url, raw, inputs=["Waiting in the buffer."], wait=0)
    assert answer.label == "202", (answer, body)
    time.sleep(0.5)  # the worker holds it now, its flush FLUSH_S away
    redis.stop()
    time.sleep(1.0)
    redis.start()
    done, status = _finished_within(web.url, raw, body["id"], FLUSH_S + 15)
    assert done, f"the job buffered across the restart never finished (last status {status})"

    answer, body = classify(web.url, raw, inputs=["Sent after the reconnect."], wait=0)
    assert answer.label == "202", (answer, body)
    done, status = _finished_within(web.url, raw, body["id"], FLUSH_S + 5)
    assert done, f"a job sent after the reconnect never finished (last status {status})"
