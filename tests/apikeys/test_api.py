"""The v1 contract without a worker: auth, scopes, errors, headers, usage, versions."""

import calendar
import re

import pytest
from django.test import override_settings
from django.urls import include, path

from apps.apikeys.models import UsageRecord
from portal.api import v1_patterns

from ..models import make_version
from .conftest import KeyClient, make_key

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

PROBLEM = "application/problem+json"
READ_ONLY = ["models:read"]


def _assert_problem(response, status, type_):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["type"] == type_
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]


def _assert_rate_headers(response):
    for header in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"):
        assert header in response, header


def test_models_are_listed_in_the_documented_shape(api, fixed_head_artifact):
    make_version(fixed_head_artifact)
    response = api.get("models")
    assert response.status_code == 200
    _assert_rate_headers(response)
    (model,) = response.json()["results"]
    assert set(model) >= {"id", "version", "task", "labels", "description", "metrics"}
    assert model["id"] == "fixed-head"
    assert model["labels"] == ["alpha", "beta", "gamma"]
    assert api.get("models/fixed-head").json()["version"] == 1


def test_an_unknown_model_is_a_404_problem(api):
    _assert_problem(api.get("models/nope"), 404, "model_not_found")


def test_requests_without_or_with_a_bad_key_are_401_problems_with_rate_headers(client):
    response = KeyClient(client, None).get("models")
    _assert_problem(response, 401, "authentication_required")
    _assert_rate_headers(response)
    _assert_problem(KeyClient(client, "pk_notakey").get("models"), 401, "api_key_invalid")
    _assert_problem(KeyClient(client, "Basic abc").client.get("/api/v1/models", HTTP_AUTHORIZATION="Basic x"),
                    401, "api_key_invalid")  # fmt: skip


@pytest.mark.parametrize(
    ("scopes", "method", "path", "status", "type_"),
    [
        (READ_ONLY, "get", "models", 200, None),
        (READ_ONLY, "post", "classify", 403, "insufficient_scope"),
        (READ_ONLY, "get", "usage", 403, "insufficient_scope"),
        (READ_ONLY, "get", "jobs/00000000-0000-0000-0000-000000000000", 403, "insufficient_scope"),
        (["inference:write"], "get", "models", 403, "insufficient_scope"),
        (["usage:read"], "get", "usage", 200, None),
        # Past the scope check, a job nobody owns is simply not found.
        (["jobs:read"], "get", "jobs/00000000-0000-0000-0000-000000000000", 404, "not_found"),
    ],
)
def test_the_scope_matrix(client, owner, scopes, method, path, status, type_):
    _key, raw = make_key(owner, scopes=scopes)
    api = KeyClient(client, raw)
    response = api.get(path) if method == "get" else api.post(path, {"model": "x", "inputs": ["a"]})
    if type_ is None:
        assert response.status_code == status, response.content
    else:
        _assert_problem(response, status, type_)


def test_a_classify_call_costs_four_sql_statements(api, fixed_head_artifact):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_version(fixed_head_artifact)
    body = {"model": "fixed-head", "inputs": ["fine"], "wait": 0}
    # The first call creates the month's quota counter, notes the key's last use and
    # loads the key and the serving version into this process's copies (core/hotcache.py).
    assert api.post("classify", body).status_code == 202
    with CaptureQueriesContext(connection) as captured:
        assert api.post("classify", body).status_code == 202
    # The embedded default keeps rate-limit buckets in the database; Redis elsewhere.
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")
    statements = [
        q["sql"] for q in captured if "ratebucket" not in q["sql"] and not q["sql"].upper().startswith(control)
    ]
    # The job, the quota, its place in the queue, the usage record; without Redis (the
    # embedded default) also the key's open jobs. The key and the serving version come
    # from copies, which no SQL statement checks.
    from apps.inference.inflight import counts_in_redis

    assert len(statements) == (4 if counts_in_redis() else 5), "\n".join(statements)


def test_bad_classify_bodies_are_400_problems_and_nothing_is_queued(api, fixed_head_artifact):
    from apps.inference.models import InferenceJob

    make_version(fixed_head_artifact)
    bodies = [
        {"model": "fixed-head", "inputs": []},
        {"model": "fixed-head", "inputs": ["x" * 2001]},
        {"model": "fixed-head", "inputs": ["ok"], "wait": 31},
        {"inputs": ["ok"]},
        ["not", "an", "object"],
    ]
    for body in bodies:
        _assert_problem(api.post("classify", body), 400, "invalid_input")
    _assert_problem(api.post("classify", {"model": "nope", "inputs": ["x"]}), 404, "model_not_found")
    assert InferenceJob.objects.count() == 0


def test_malformed_json_is_a_400_problem(api):
    response = api.client.post("/api/v1/classify", "{not json", content_type="application/json",
                               HTTP_AUTHORIZATION=f"Bearer {api.raw}")  # fmt: skip
    _assert_problem(response, 400, "invalid_json")


def test_a_key_limited_to_some_models_cannot_use_others(client, owner, fixed_head_artifact):
    make_version(fixed_head_artifact)
    _key, raw = make_key(owner, allowed_models=["other-model"])
    _assert_problem(KeyClient(client, raw).post("classify", {"model": "fixed-head", "inputs": ["a"]}), 403,
                    "model_not_allowed")  # fmt: skip


def test_rate_limiting_is_a_429_with_retry_after_distinct_from_quota(client, owner, fixed_head_artifact):
    make_version(fixed_head_artifact)
    _key, raw = make_key(owner, rpm=2)
    api = KeyClient(client, raw)
    api.get("models")
    api.get("models")
    response = api.get("models")
    _assert_problem(response, 429, "rate_limited")
    assert int(response["Retry-After"]) >= 1
    assert response["RateLimit-Remaining"] == "0"

    _key, raw = make_key(owner, quota=1)
    quota_api = KeyClient(client, raw)
    response = quota_api.post("classify", {"model": "fixed-head", "inputs": ["a", "b"], "wait": 0})
    _assert_problem(response, 429, "quota_exceeded")


def test_usage_reports_the_quota_left_and_requests_are_recorded(client, owner, fixed_head_artifact):
    key, raw = make_key(owner, quota=50)
    api = KeyClient(client, raw)
    body = api.get("usage").json()
    assert body["inputs_limit"] == 50
    assert body["inputs_remaining"] == 50
    assert body["plan"] == "free"
    api.get("models/nope")
    records = UsageRecord.objects.filter(key=key).order_by("created_at")
    assert [r.status_code for r in records] == [200, 404]
    assert records[1].error_type == "model_not_found"


def test_another_users_job_is_a_404_not_a_403(client, owner, outsider, fixed_head_artifact):
    from apps.inference.services import inference_job_submit

    make_version(fixed_head_artifact)
    job = inference_job_submit(owner=owner, model="fixed-head", inputs=["mine"])
    _k, outsider_raw = make_key(outsider)
    _assert_problem(KeyClient(client, outsider_raw).get(f"jobs/{job.id}"), 404, "not_found")
    _k, owner_raw = make_key(owner)
    assert KeyClient(client, owner_raw).get(f"jobs/{job.id}").status_code == 202


urlpatterns = [
    path("api/v0/", include((v1_patterns, "api-v0"))),
    path("api/v1/", include((v1_patterns, "api-v1"))),
]


@pytest.mark.urls(__name__)
def test_a_deprecated_version_answers_with_deprecation_sunset_and_link(client, owner):
    _key, raw = make_key(owner)
    versions = {
        "v0": {"status": "deprecated", "deprecation": "2026-07-01", "sunset": "2027-06-30", "link": "https://portal.example.com/docs/api/migrate-v1/"},
        "v1": {"status": "current"},
    }  # fmt: skip
    with override_settings(API_VERSIONS=versions):
        old = client.get("/api/v0/models", HTTP_AUTHORIZATION=f"Bearer {raw}")
        new = client.get("/api/v1/models", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert old.status_code == 200
    # RFC 9745: a Structured Field Date, "@" and the Unix time of the configured date.
    assert re.fullmatch(r"@\d+", old["Deprecation"])
    assert old["Deprecation"] == f"@{calendar.timegm((2026, 7, 1, 0, 0, 0))}"
    # RFC 8594: an HTTP-date.
    assert old["Sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
    assert 'rel="deprecation"' in old["Link"]
    assert "Deprecation" not in new


@pytest.mark.embedded
def test_a_deprecated_version_without_usable_dates_stops_the_system_check():
    from django.core.checks import run_checks

    broken = {
        "v0": {"status": "deprecated", "sunset": "2027-06-30"},
        "v9": {"status": "deprecated", "deprecation": "soon"},
    }
    with override_settings(API_VERSIONS=broken):
        errors = [e for e in run_checks() if e.id == "apikeys.E001"]
    assert sorted(e.msg.split("'")[1] for e in errors) == ["v0", "v9"]
    with override_settings(API_VERSIONS={"v0": {"status": "deprecated", "deprecation": "2026-07-01"}}):
        assert not [e for e in run_checks() if e.id == "apikeys.E001"]


def test_the_openapi_schema_and_docs_pages_are_served_locally(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    for fragment in ("/api/v1/classify", "/api/v1/jobs/{job_id}", "Idempotency-Key", "RateLimit-Remaining", "bearer"):
        assert fragment in text
    docs = client.get("/api/docs/").content.decode()
    redoc = client.get("/api/redoc/").content.decode()
    assert "cdn" not in docs.lower()
    assert "cdn" not in redoc.lower()
    assert "/static/drf_spectacular_sidecar/" in docs


def test_a_deprecated_version_still_answers_with_a_warning_and_a_retired_one_refuses(api, fixed_head_artifact):
    from apps.mlmodels.models import VersionStatus

    make_version(fixed_head_artifact, slug="old-model", status=VersionStatus.DEPRECATED)
    response = api.post("classify", {"model": "old-model", "inputs": ["still here?"], "wait": 0})
    assert response.status_code == 202
    assert "deprecated" in response.json()["warnings"][0]
    make_version(fixed_head_artifact, slug="gone-model", status=VersionStatus.RETIRED)
    _assert_problem(api.post("classify", {"model": "gone-model", "inputs": ["x"], "wait": 0}), 410, "model_retired")
