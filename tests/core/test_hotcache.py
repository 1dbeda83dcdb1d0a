"""Per-process copies of keys and serving versions (apps/core/hotcache.py): no SQL on a
warm call, and no stale answer after any change, made here or in another process."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.apikeys import keyformat
from apps.apikeys.services import apikey_authenticate
from apps.core import hotcache
from apps.core.clients import redis_client
from apps.core.errors import ApiKeyInvalid, ApiKeyRevoked, ModelRetired
from apps.mlmodels.selectors import model_version_serving

from ..apikeys.conftest import KeyClient, make_key
from ..models import make_version
from ..services import worker_env

# Each test but the last runs on both configurations; the last needs Redis to lose.


def _sql(call):
    with CaptureQueriesContext(connection) as captured:
        result = call()
    return result, [q["sql"] for q in captured]


@pytest.mark.embedded
@pytest.mark.django_db
def test_a_warm_key_and_serving_version_cost_no_sql(owner, fixed_head_artifact):
    key, raw = make_key(owner)
    make_version(fixed_head_artifact)
    apikey_authenticate(raw=raw)
    model_version_serving(slug="fixed-head", for_queue=True)
    (found, key_sql) = _sql(lambda: apikey_authenticate(raw=raw))
    (serving, version_sql) = _sql(lambda: model_version_serving(slug="fixed-head", for_queue=True))
    assert found.pk == key.pk and serving.version == 1
    assert key_sql == [] and version_sql == []


@pytest.mark.embedded
@pytest.mark.django_db
def test_a_request_reads_the_generation_once(client, owner, fixed_head_artifact, monkeypatch):
    """A classify call looks up its key and its serving version: one read of the counter
    serves both. Outside a request every lookup reads it."""
    _key, raw = make_key(owner)
    make_version(fixed_head_artifact)
    reads = []
    real = hotcache._read
    monkeypatch.setattr(hotcache, "_read", lambda: reads.append(1) or real())
    response = KeyClient(client, raw).post("classify", {"model": "fixed-head", "inputs": ["fine"], "wait": 0})
    assert response.status_code == 202, response.content
    assert len(reads) == 1
    apikey_authenticate(raw=raw)
    model_version_serving(slug="fixed-head", for_queue=True)
    assert len(reads) == 3


@pytest.mark.embedded
@pytest.mark.django_db
def test_a_bump_inside_a_request_is_seen_by_its_next_lookup(owner):
    from apps.apikeys.services import apikey_revoke

    key, raw = make_key(owner)
    hotcache.request_started()
    try:
        first = hotcache.generation()
        assert apikey_authenticate(raw=raw).pk == key.pk
        apikey_revoke(key=key, actor=owner)
        assert hotcache.generation() != first
        with pytest.raises(ApiKeyRevoked):
            apikey_authenticate(raw=raw)
    finally:
        hotcache.request_finished()


@pytest.mark.embedded
@pytest.mark.django_db
def test_a_copy_never_lets_a_wrong_secret_in(owner):
    key, raw = make_key(owner)
    apikey_authenticate(raw=raw)
    # A well-formed key with the same id and another secret: the hash is compared on
    # every call, copy or not.
    forged = keyformat.generate(key_id=key.key_id).raw
    assert forged != raw
    with pytest.raises(ApiKeyInvalid):
        apikey_authenticate(raw=forged)


@pytest.mark.embedded
@pytest.mark.django_db
def test_changes_in_this_process_show_on_the_next_call(owner, fixed_head_artifact):
    from apps.apikeys.services import apikey_revoke
    from apps.mlmodels.services import model_version_retire

    key, raw = make_key(owner)
    version = make_version(fixed_head_artifact)
    assert apikey_authenticate(raw=raw).pk == key.pk
    assert model_version_serving(slug="fixed-head", for_queue=True).pk == version.pk
    newer = make_version(fixed_head_artifact, version=2)
    assert model_version_serving(slug="fixed-head", for_queue=True).pk == newer.pk
    apikey_revoke(key=key, actor=owner)
    with pytest.raises(ApiKeyRevoked):
        apikey_authenticate(raw=raw)
    for each in (version, newer):
        model_version_retire(version=each)
    with pytest.raises(ModelRetired):
        model_version_serving(slug="fixed-head", for_queue=True)


@pytest.mark.embedded
@pytest.mark.django_db
def test_a_lost_generation_drops_every_copy(owner):
    """Redis restarted empty: the counter starts again at a random value, not at one an
    older copy may carry."""
    _key, raw = make_key(owner)
    apikey_authenticate(raw=raw)
    before = hotcache.generation()
    from django.core.cache import cache

    if settings.REDIS_URL:
        redis_client(settings.REDIS_URL).delete(hotcache.GENERATION_KEY)
    else:
        cache.delete(hotcache.GENERATION_KEY)
    after = hotcache.generation()
    assert after is not None and after != before
    (_found, queries) = _sql(lambda: apikey_authenticate(raw=raw))
    assert queries, "a copy tagged with the lost generation was used"


@pytest.mark.embedded
@pytest.mark.django_db(transaction=True)
def test_a_key_revoked_by_another_process_is_refused_on_the_next_call(client, owner):
    """The web process holds a copy of the key; a separate process revokes it (as the
    admin or the key-leak task would); the very next call is refused."""
    key, raw = make_key(owner)
    api = KeyClient(client, raw)
    assert api.get("models").status_code == 200
    assert api.get("models").status_code == 200  # served from the copy
    script = (
        "from apps.apikeys.models import APIKey; from apps.apikeys.services import apikey_revoke; "
        f"k = APIKey.objects.get(pk='{key.pk}'); apikey_revoke(key=k, actor=None, reason='test')"
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=settings.BASE_DIR,
        env=worker_env(),
        check=True,
        timeout=120,
    )
    response = api.get("models")
    assert response.status_code == 401
    assert "api_key_revoked" in response.json()["type"]


def test_without_a_readable_generation_nothing_is_cached_and_a_lost_bump_is_sent_later(settings):
    """Redis away: every call loads afresh; a bump that could not be sent goes first
    when the generation can be read again."""
    hot = hotcache.HotCache()
    loads = []
    reachable = settings.REDIS_URL
    before = hotcache.generation()  # the counter exists
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    assert hotcache.generation() is None
    for _ in range(2):
        hot.get("k", lambda: loads.append(1) or len(loads))
    assert len(loads) == 2
    hotcache.bump()  # lost: Redis is away
    settings.REDIS_URL = reachable
    after = hotcache.generation()
    assert after == before + 1
