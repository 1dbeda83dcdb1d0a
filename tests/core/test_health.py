import pytest
from django.urls import reverse

from portal.celery import app

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_touching_anything(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_503_without_a_live_inference_worker(client, settings):
    # Heartbeats older than the TTL do not count; with a TTL of 0 none is fresh, whatever
    # workers other tests left running.
    settings.WORKER_HEARTBEAT_TTL = 0
    response = client.get(reverse("readyz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"]
    assert body["checks"]["cache"]["ok"]
    assert body["checks"]["workers"]["inference"] == 0


def test_readyz_is_503_when_the_broker_is_unreachable(client, settings):
    settings.READYZ_REQUIRE_WORKERS = False
    assert client.get(reverse("readyz")).status_code == 200
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    app.conf.broker_write_url = "redis://127.0.0.1:9/0"
    try:
        response = client.get(reverse("readyz"))
    finally:
        app.conf.broker_write_url = None  # back to following broker_url
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False
    assert "error" in response.json()["checks"]["broker"]


@pytest.mark.worker
@pytest.mark.embedded
def test_readyz_reports_a_live_worker_and_drops_it_when_it_stops(client, transactional_db):
    from ..services import celery_worker

    with celery_worker(queues="inference", pool="solo") as worker:
        _readyz_sees_and_loses(client, worker)


def _readyz_sees_and_loses(client, worker):
    response = client.get(reverse("readyz"))
    assert response.status_code == 200, response.json()
    workers = response.json()["checks"]["workers"]
    assert workers["inference"] >= 1
    assert worker["hostname"] in [w["hostname"] for w in workers["workers"]]

    worker["process"].terminate()
    worker["process"].wait(timeout=30)
    response = client.get(reverse("readyz"))
    assert worker["hostname"] not in [w["hostname"] for w in response.json()["checks"]["workers"]["workers"]]
