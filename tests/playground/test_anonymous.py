"""Visitors without an account may try the demo model a few times an hour per address,
from the playground only; their jobs are readable only by their own browser session."""

import json

import pytest
from django.test import Client

from apps.inference.models import InferenceJob, JobSource

from ..models import make_version
from .conftest import DEMO, Visitor, classify, signed_in

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

PROBLEM = "application/problem+json"


def _problem(response, status, type_):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    assert response.json()["type"] == type_
    return response.json()


def test_a_visitor_runs_the_demo_model_and_sees_the_hourly_allowance_in_the_headers(demo, visitor):
    response = visitor.classify({"model": DEMO, "inputs": ["I like it."], "wait": 0})
    assert response.status_code == 202, response.content
    assert response["RateLimit-Limit"] == "5"
    assert response["RateLimit-Remaining"] == "4"
    assert 0 < int(response["RateLimit-Reset"]) <= 3600
    job = InferenceJob.objects.get(id=response.json()["id"])
    assert job.owner is None
    assert job.source == JobSource.PLAYGROUND


def test_after_the_allowance_a_visitor_is_told_when_to_retry_and_to_sign_in(demo, visitor, settings):
    settings.PLAYGROUND_ANONYMOUS_RUNS_PER_HOUR = 2
    for text in ("one", "two"):
        assert visitor.classify({"model": DEMO, "inputs": [text], "wait": 0}).status_code == 202
    response = visitor.classify({"model": DEMO, "inputs": ["three"], "wait": 0})
    body = _problem(response, 429, "rate_limited")
    assert "sign in" in body["detail"].lower()
    assert 1 <= int(response["Retry-After"]) <= 3600
    assert response["RateLimit-Remaining"] == "0"
    assert InferenceJob.objects.count() == 2


def test_the_allowance_is_counted_per_address(demo, settings):
    settings.PLAYGROUND_ANONYMOUS_RUNS_PER_HOUR = 1
    first = Visitor(Client(enforce_csrf_checks=True), ip="198.51.100.1")
    same_address = Visitor(Client(enforce_csrf_checks=True), ip="198.51.100.1")
    elsewhere = Visitor(Client(enforce_csrf_checks=True), ip="198.51.100.2")
    assert first.classify({"model": DEMO, "inputs": ["a"], "wait": 0}).status_code == 202
    _problem(same_address.classify({"model": DEMO, "inputs": ["b"], "wait": 0}), 429, "rate_limited")
    assert elsewhere.classify({"model": DEMO, "inputs": ["c"], "wait": 0}).status_code == 202


def test_a_made_up_forwarded_for_header_does_not_reset_the_allowance(demo, visitor, settings):
    settings.PLAYGROUND_ANONYMOUS_RUNS_PER_HOUR = 1
    settings.NUM_PROXIES = 1  # as in production, behind nginx
    assert visitor.classify({"model": DEMO, "inputs": ["a"], "wait": 0}).status_code == 202
    # Behind nginx the client's own header comes first and the real address last.
    response = visitor.client.post(
        "/api/v1/classify", json.dumps({"model": DEMO, "inputs": ["b"], "wait": 0}),
        content_type="application/json", HTTP_X_CSRFTOKEN=visitor.token, REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR=f"198.51.100.99, {visitor.ip}",
    )  # fmt: skip
    _problem(response, 429, "rate_limited")


def test_one_ipv6_visitor_cannot_dodge_the_allowance_by_changing_address_inside_its_network(demo, settings):
    settings.PLAYGROUND_ANONYMOUS_RUNS_PER_HOUR = 1
    first = Visitor(Client(enforce_csrf_checks=True), ip="2001:db8:1:2::10")
    second = Visitor(Client(enforce_csrf_checks=True), ip="2001:db8:1:2::99")
    assert first.classify({"model": DEMO, "inputs": ["a"], "wait": 0}).status_code == 202
    _problem(second.classify({"model": DEMO, "inputs": ["b"], "wait": 0}), 429, "rate_limited")


def test_a_refused_input_costs_a_visitor_no_try(demo, visitor, settings):
    settings.PLAYGROUND_ANONYMOUS_RUNS_PER_HOUR = 1
    _problem(visitor.classify({"model": DEMO, "inputs": ["x" * 2001], "wait": 0}), 400, "invalid_input")
    _problem(visitor.classify({"model": DEMO, "inputs": [" "], "wait": 0}), 400, "invalid_input")
    assert visitor.classify({"model": DEMO, "inputs": ["fine"], "wait": 0}).status_code == 202


def test_a_visitor_may_not_run_other_models(demo, visitor, fixed_head_artifact):
    make_version(fixed_head_artifact, slug="other-model")
    body = _problem(visitor.classify({"model": "other-model", "inputs": ["hi"], "wait": 0}), 401,
                    "authentication_required")  # fmt: skip
    assert DEMO in body["detail"]
    assert InferenceJob.objects.count() == 0


def test_a_program_without_a_key_still_gets_401_even_for_the_demo_model(demo, client):
    # No CSRF cookie: not a browser on the playground, so the API asks for a key as before.
    _problem(classify(client, {"model": DEMO, "inputs": ["hi"], "wait": 0}), 401, "authentication_required")
    # A cookie without the matching header is a cross-site form, not the playground.
    strict = Client(enforce_csrf_checks=True)
    strict.get("/playground/")
    _problem(classify(strict, {"model": DEMO, "inputs": ["hi"], "wait": 0}), 401, "authentication_required")
    assert InferenceJob.objects.count() == 0


def test_a_visitors_job_is_readable_only_by_the_session_that_sent_it(demo, visitor, owner, client):
    job_id = visitor.classify({"model": DEMO, "inputs": ["mine"], "wait": 0}).json()["id"]
    mine = visitor.job(job_id)
    assert mine.status_code == 202
    assert mine.json()["id"] == job_id

    # Without any job in its session another caller is asked for a key, as before.
    _problem(client.get(f"/api/v1/jobs/{job_id}"), 401, "authentication_required")
    # Another visitor with jobs of its own, and a signed-in user, get a 404.
    other = Visitor(Client(enforce_csrf_checks=True), ip="203.0.113.50")
    assert other.classify({"model": DEMO, "inputs": ["theirs"], "wait": 0}).status_code == 202
    _problem(other.job(job_id), 404, "not_found")
    _problem(signed_in(owner).get(f"/api/v1/jobs/{job_id}"), 404, "not_found")


def test_a_signed_in_user_has_the_free_plan_limits_not_the_visitor_allowance(demo, owner, settings):
    settings.PLAYGROUND_ANONYMOUS_RUNS_PER_HOUR = 1
    client = signed_in(owner)
    for text in ("a", "b", "c"):
        response = classify(client, {"model": DEMO, "inputs": [text], "wait": 0})
        assert response.status_code == 202, response.content
    assert response["RateLimit-Limit"] == "60"
    assert InferenceJob.objects.filter(owner=owner, source=JobSource.PLAYGROUND).count() == 3


def test_the_anonymous_models_come_from_the_setting(demo, visitor, fixed_head_artifact, settings):
    make_version(fixed_head_artifact, slug="other-model")
    settings.PLAYGROUND_ANONYMOUS_MODELS = ["other-model"]
    assert visitor.classify({"model": "other-model", "inputs": ["hi"], "wait": 0}).status_code == 202
    _problem(visitor.classify({"model": DEMO, "inputs": ["hi"], "wait": 0}), 401, "authentication_required")


def test_the_playground_page_tells_a_visitor_how_many_runs_are_left(demo, settings):
    settings.PLAYGROUND_ANONYMOUS_RUNS_PER_HOUR = 3
    visitor = Visitor(Client(enforce_csrf_checks=True))
    visitor.classify({"model": DEMO, "inputs": ["a"], "wait": 0})
    page = visitor.client.get("/playground/", REMOTE_ADDR=visitor.ip).content.decode()
    assert "2 of 3 free runs left this hour." in page
    assert (
        json.loads(page.split('id="playground-config" type="application/json">')[1].split("</script>")[0])["anonymous"][
            "left"
        ]
        == 2
    )
