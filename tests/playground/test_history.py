"""The history of a signed-in developer's runs: recorded from their own jobs only, listed
for them only, re-run from the stored inputs, deleted by them only."""

import json

import pytest
from django.test import Client

from apps.inference.models import InferenceJob, JobStatus
from apps.inference.services import inference_job_submit
from apps.playground.models import Run

from ..factories import UserFactory
from ..models import make_version
from .conftest import DEMO, classify, signed_in

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

RUNS = "/playground/api/runs/"


def _run(client, job_id, compare=None):
    body = {"job": str(job_id)} if compare is None else {"job": str(job_id), "compare_job": str(compare)}
    return client.post(RUNS, json.dumps(body), content_type="application/json")


def _job(client, inputs, **extra):
    response = classify(client, {"model": DEMO, "inputs": inputs, "wait": 0, **extra})
    assert response.status_code == 202, response.content
    return response.json()["id"]


def test_a_run_is_recorded_from_the_users_own_job_and_listed_newest_first(demo, owner):
    client = signed_in(owner)
    first = _run(client, _job(client, ["  First   run,\nwith spaces. ", "second input"]))
    assert first.status_code == 201, first.content
    second = _run(client, _job(client, ["Later run"]))
    listing = client.get(RUNS).json()["results"]
    assert [r["id"] for r in listing] == [second.json()["id"], first.json()["id"]]
    older = listing[1]
    assert older["first_input"] == "First run, with spaces."
    assert older["input_count"] == 2
    assert older["shared"] is False
    (side,) = older["sides"]
    assert side["model"] == DEMO
    assert side["version"] == 1
    assert side["status"] == JobStatus.QUEUED
    assert side["label"] is None


def test_the_history_shows_the_label_once_the_job_finished(demo, owner):
    client = signed_in(owner)
    job_id = _job(client, ["Great docs."])
    _run(client, job_id)
    InferenceJob.objects.filter(id=job_id).update(
        status=JobStatus.SUCCEEDED, results=[{"label": "beta", "score": 0.8, "scores": {}, "truncated": False}]
    )
    (run,) = client.get(RUNS).json()["results"]
    assert run["sides"][0]["label"] == "beta"
    assert run["sides"][0]["status"] == "succeeded"


def test_recording_the_same_job_twice_keeps_one_run(demo, owner):
    client = signed_in(owner)
    job_id = _job(client, ["once"])
    assert _run(client, job_id).json()["id"] == _run(client, job_id).json()["id"]
    assert Run.objects.count() == 1


def test_nobody_can_record_someone_elses_job_as_their_run(demo, owner, outsider):
    job = inference_job_submit(owner=owner, model=DEMO, inputs=["private text"])
    response = _run(signed_in(outsider), str(job.id))
    assert response.status_code == 404
    assert response.json()["type"] == "not_found"
    assert not Run.objects.exists()


def test_a_comparison_needs_two_different_jobs_with_the_same_inputs(demo, owner, fixed_head_artifact):
    make_version(fixed_head_artifact, slug=DEMO, version=2)
    client = signed_in(owner)
    a = _job(client, ["same"])
    b = _job(client, ["same"], version=1)
    c = _job(client, ["different"], version=1)
    assert _run(client, a, compare=c).json()["type"] == "invalid_input"
    assert _run(client, a, compare=a).status_code == 400
    run = _run(client, a, compare=b).json()
    assert [side["job"] for side in run["sides"]] == [a, b]


def test_with_a_single_model_a_comparison_is_refused_with_a_400_problem(demo, owner):
    client = signed_in(owner)
    a = _job(client, ["same"])
    b = _job(client, ["same"])  # two jobs, but the same model and version: nothing compared
    response = _run(client, a, compare=b)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["type"] == "invalid_input"
    assert "different models or versions" in response.json()["detail"]
    assert not Run.objects.exists()


def test_users_see_only_their_own_runs(demo, owner, outsider):
    owner_client = signed_in(owner)
    _run(owner_client, _job(owner_client, ["owner's"]))
    outsider_client = signed_in(outsider)
    assert outsider_client.get(RUNS).json()["results"] == []
    run_id = Run.objects.get().id
    assert outsider_client.get(f"{RUNS}{run_id}/").status_code == 404


def test_a_run_gives_its_inputs_back_for_a_re_run(demo, owner):
    client = signed_in(owner)
    run = _run(client, _job(client, ["one", "two", "three"])).json()
    detail = client.get(run["url"]).json()
    assert detail["inputs"] == ["one", "two", "three"]
    assert detail["sides"][0]["model"] == DEMO


def test_the_owner_deletes_a_run_and_nobody_else_can(demo, owner, outsider):
    client = signed_in(owner)
    run = _run(client, _job(client, ["to delete"])).json()
    refused = signed_in(outsider).delete(run["url"])
    assert refused.status_code == 404
    assert Run.objects.filter(id=run["id"]).exists()
    assert client.delete(run["url"]).status_code == 204
    assert client.get(RUNS).json()["results"] == []
    assert client.delete(run["url"]).status_code == 404
    # The job stays: it is the API's record of the request, as for any client.
    assert InferenceJob.objects.count() == 1


def test_the_history_needs_a_signed_in_user(client):
    response = client.get(RUNS)
    assert response.status_code == 401
    assert response.json()["type"] == "authentication_required"


def test_history_writes_need_the_csrf_header(demo, owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    job = inference_job_submit(owner=owner, model=DEMO, inputs=["x"])
    response = client.post(RUNS, json.dumps({"job": str(job.id)}), content_type="application/json")
    assert response.status_code == 403
    assert not Run.objects.exists()


def test_listing_the_history_takes_the_same_few_queries_however_long_it_is(demo, owner, django_assert_max_num_queries):
    client = signed_in(owner)
    for n in range(3):
        _run(client, inference_job_submit(owner=owner, model=DEMO, inputs=[f"run {n}"]).id)
    with django_assert_max_num_queries(4) as captured:
        assert len(client.get(RUNS).json()["results"]) == 3
    few = len(captured.captured_queries)
    for n in range(10):
        _run(client, inference_job_submit(owner=owner, model=DEMO, inputs=[f"more {n}"]).id)
    with django_assert_max_num_queries(few):
        assert len(client.get(RUNS).json()["results"]) == 13


def test_the_history_lists_at_most_the_latest_twenty(demo):
    user = UserFactory()
    client = signed_in(user)
    for n in range(22):
        _run(client, inference_job_submit(owner=user, model=DEMO, inputs=[f"run {n}"]).id)
    listing = client.get(RUNS).json()["results"]
    assert len(listing) == 20
    assert listing[0]["first_input"] == "run 21"
