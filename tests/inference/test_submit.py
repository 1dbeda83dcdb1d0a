import re

import pytest

from apps.core.errors import InvalidInput, ModelNotFound, ModelRetired
from apps.inference.models import InferenceJob, JobStatus
from apps.inference.services import MAX_CHARS, inference_inputs_validate, inference_job_submit
from apps.mlmodels.models import VersionStatus

from .conftest import make_version

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ([], "non-empty list"),
        ("just a string", "not a single string"),
        (["ok"] * 33, "at most 32"),
        (["ok", ""], "inputs[1] is empty"),
        (["   "], "inputs[0] is empty"),
        (["x" * (MAX_CHARS + 1)], "2001 characters"),
        (["ok", 5], "inputs[1] must be a string"),
        (["bad \ud800 surrogate"], "not valid UTF-8"),
        (["nul \x00 byte"], "NUL"),
        ({"text": "a dict"}, "non-empty list"),
    ],
)
def test_bad_inputs_are_refused_with_a_message_naming_the_problem(inputs, message):
    with pytest.raises(InvalidInput, match=re.escape(message)):
        inference_inputs_validate(inputs)


def test_the_limits_themselves_are_accepted():
    assert inference_inputs_validate(["x" * MAX_CHARS] * 32) == ["x" * MAX_CHARS] * 32
    assert inference_inputs_validate(["好"]) == ["好"]


def test_bad_input_writes_no_job_and_queues_nothing(owner, published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(InvalidInput):
        inference_job_submit(owner=owner, model="fixed-head", inputs=["fine", ""])
    assert callbacks == []
    assert InferenceJob.objects.count() == 0


def test_unknown_draft_and_retired_models_are_refused_before_queuing(
    owner, fixed_head_artifact, django_capture_on_commit_callbacks
):
    make_version(fixed_head_artifact, slug="draft-only", status=VersionStatus.DRAFT)
    make_version(fixed_head_artifact, slug="old", status=VersionStatus.RETIRED)
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(ModelNotFound):
            inference_job_submit(owner=owner, model="no-such-model", inputs=["hi"])
        with pytest.raises(ModelNotFound):
            inference_job_submit(owner=owner, model="draft-only", inputs=["hi"])
        with pytest.raises(ModelRetired, match="retired"):
            inference_job_submit(owner=owner, model="old", inputs=["hi"])
    assert callbacks == []
    assert InferenceJob.objects.count() == 0


def test_a_good_job_is_queued_only_after_its_row_commits(owner, published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = inference_job_submit(owner=owner, model="fixed-head", inputs=["hello"])
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    assert job.model_version == published
    assert job.enqueued_at is not None


def test_the_queue_message_shows_the_job_but_not_the_texts(owner, published, django_capture_on_commit_callbacks):
    from celery.signals import before_task_publish

    published_headers = []

    def grab(headers=None, **_kwargs):
        published_headers.append(headers)

    before_task_publish.connect(grab)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            job = inference_job_submit(owner=owner, model="fixed-head", inputs=["my private words"])
    finally:
        before_task_publish.disconnect(grab)
    (headers,) = [h for h in published_headers if h["id"] == str(job.id)]
    assert str(job.id) in headers["kwargsrepr"]
    assert "private" not in headers["kwargsrepr"] + headers["argsrepr"]


def test_the_newest_published_version_serves_and_a_deprecated_one_is_the_fallback(owner, fixed_head_artifact):
    old = make_version(fixed_head_artifact, slug="m", status=VersionStatus.DEPRECATED, version=1)
    job = inference_job_submit(owner=owner, model="m", inputs=["a"])
    assert job.model_version == old
    new = make_version(fixed_head_artifact, slug="m", status=VersionStatus.PUBLISHED, version=2)
    make_version(fixed_head_artifact, slug="m", status=VersionStatus.DRAFT, version=3)
    assert inference_job_submit(owner=owner, model="m", inputs=["a"]).model_version == new
