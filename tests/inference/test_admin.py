import pytest
from django.urls import reverse

from apps.inference.heartbeat import heartbeat_write

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def test_the_status_page_shows_live_workers_queue_and_latency(client, admin_user):
    details = {"device": "cuda", "models": ["sentiment-demo/v1"]}
    heartbeat_write(hostname="gpu-7@host", queues=["inference"], started_at=0, details=details)
    client.force_login(admin_user)
    html = client.get(reverse("admin:inference_status")).content.decode()
    assert "gpu-7@host" in html
    assert "cuda" in html
    assert "sentiment-demo/v1" in html
    assert "p95" in html


def test_the_status_page_says_plainly_when_no_worker_is_online(client, admin_user, settings):
    settings.WORKER_HEARTBEAT_TTL = 0  # no heartbeat is fresh, whatever else is running
    client.force_login(admin_user)
    assert "No inference worker is online" in client.get(reverse("admin:inference_status")).content.decode()


def test_developers_and_moderators_cannot_see_the_status_page(client, owner, moderator):
    for user in (owner, moderator):
        client.force_login(user)
        assert client.get(reverse("admin:inference_status")).status_code == 302
