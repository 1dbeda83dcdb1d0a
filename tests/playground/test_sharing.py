"""A run's read-only page: its owner always sees it; others only while sharing is on."""

import json

import pytest
from django.test import Client

from apps.inference.models import InferenceJob, JobStatus
from apps.inference.services import inference_job_submit
from apps.playground.services import playground_run_create

from ..models import EXPECTED, LABELS
from .conftest import DEMO, signed_in

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

RUNS = "/playground/api/runs/"
RESULT = {"label": "beta", "score": EXPECTED["beta"], "scores": dict(EXPECTED), "truncated": False}


@pytest.fixture
def run(demo, owner):
    job = inference_job_submit(owner=owner, model=DEMO, inputs=["A sentence worth sharing."])
    InferenceJob.objects.filter(id=job.id).update(status=JobStatus.SUCCEEDED, results=[RESULT], inference_ms=12.5)
    return playground_run_create(owner=owner, job_id=job.id)


def _share(client, run, shared):
    return client.patch(f"/playground/api/runs/{run.id}/", json.dumps({"shared": shared}),
                        content_type="application/json")  # fmt: skip


def test_an_unshared_run_is_seen_by_its_owner_only(run, owner, outsider):
    page = signed_in(owner).get(run.get_absolute_url())
    assert page.status_code == 200
    assert "Sharing is off" in page.content.decode()
    assert signed_in(outsider).get(run.get_absolute_url()).status_code == 404
    assert Client().get(run.get_absolute_url()).status_code == 404


def test_the_owner_turns_sharing_on_and_outsiders_see_the_read_only_page(run, owner, outsider):
    response = _share(signed_in(owner), run, True)
    assert response.status_code == 200
    body = response.json()
    assert body["shared"] is True
    assert body["page_url"].endswith(run.get_absolute_url())
    for viewer in (signed_in(outsider), Client()):
        page = viewer.get(run.get_absolute_url())
        assert page.status_code == 200
        html = page.content.decode()
        assert "A sentence worth sharing." in html
        assert 'class="pg-score is-winner"' in html
        assert html.index(">beta<") < html.index(">alpha<") < html.index(">gamma<")  # sorted by score
        assert page["X-Robots-Tag"] == "noindex"
        assert "Sharing is" not in html  # the owner's note is the owner's
        assert "<form" not in html.split('<main id="main"')[1].split("</main>")[0]  # read-only


def test_turning_sharing_off_hides_the_page_again_behind_the_same_link(run, owner, outsider):
    client = signed_in(owner)
    _share(client, run, True)
    _share(client, run, False)
    assert signed_in(outsider).get(run.get_absolute_url()).status_code == 404
    on_again = _share(client, run, True).json()
    assert on_again["page_url"].endswith(run.get_absolute_url())


def test_an_outsider_cannot_share_or_read_someone_elses_run(run, outsider):
    response = _share(signed_in(outsider), run, True)
    assert response.status_code == 404
    run.refresh_from_db()
    assert run.shared is False


def test_sharing_needs_a_true_or_false(run, owner):
    response = _share(signed_in(owner), run, "yes")
    assert response.status_code == 400
    assert response.json()["type"] == "invalid_input"


def test_a_shared_comparison_highlights_the_inputs_where_the_models_differ(demo, owner, fixed_head_artifact):
    from ..models import make_version

    make_version(fixed_head_artifact, slug=DEMO, version=2)
    a = inference_job_submit(owner=owner, model=DEMO, inputs=["one", "two"])
    b = inference_job_submit(owner=owner, model=DEMO, inputs=["one", "two"], version=1)
    other = {**RESULT, "label": "gamma"}
    InferenceJob.objects.filter(id=a.id).update(status=JobStatus.SUCCEEDED, results=[RESULT, RESULT])
    InferenceJob.objects.filter(id=b.id).update(status=JobStatus.SUCCEEDED, results=[RESULT, other])
    run = playground_run_create(owner=owner, job_id=a.id, compare_job_id=b.id)
    html = signed_in(owner).get(run.get_absolute_url()).content.decode()
    assert html.count('class="pg-result card is-different"') == 1
    assert "The two disagree on 1 of 2 inputs." in html
    assert f"{DEMO} v2" in html and f"{DEMO} v1" in html
    assert set(LABELS) <= set(RESULT["scores"])


def test_an_unknown_share_token_is_a_404(client, db):
    assert client.get("/playground/runs/not-a-token/").status_code == 404


def test_sharing_again_keeps_the_link_and_only_stop_sharing_revokes_it(run, owner, outsider):
    client = signed_in(owner)
    first = _share(client, run, True).json()
    again = _share(client, run, True).json()  # "Share" clicked after a reload
    assert again["shared"] is True and again["page_url"] == first["page_url"]
    assert client.get(RUNS).json()["results"][0]["shared"] is True  # the state the page draws from
    assert Client().get(run.get_absolute_url()).status_code == 200
    assert _share(signed_in(outsider), run, False).status_code == 404  # only the owner may stop it
    assert Client().get(run.get_absolute_url()).status_code == 200
    assert _share(client, run, False).json()["shared"] is False
    assert Client().get(run.get_absolute_url()).status_code == 404
