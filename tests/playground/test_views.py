"""The playground page: what it hands its script, the model picker, notices, languages."""

import re

import pytest

from apps.mlmodels.models import VersionStatus

from ..models import LABELS, make_version
from .conftest import DEMO, config_of, signed_in

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def test_the_picker_offers_every_published_model_with_its_task_labels_version_and_examples(
    demo, client, fixed_head_artifact
):
    make_version(fixed_head_artifact, slug="topics", version=1)
    make_version(fixed_head_artifact, slug="topics", version=2, status=VersionStatus.DEPRECATED)
    make_version(fixed_head_artifact, slug="draft-only", status=VersionStatus.DRAFT)
    make_version(fixed_head_artifact, slug="gone", status=VersionStatus.RETIRED)
    config = config_of(client.get("/playground/"))
    by_id = {m["id"]: m for m in config["models"]}
    assert set(by_id) == {DEMO, "topics"}
    demo_entry = by_id[DEMO]
    assert demo_entry["labels"] == LABELS
    assert demo_entry["task"] == "Text classification"
    assert demo_entry["version"] == 1
    assert demo_entry["description"] == "Positive or negative? A small demo model."
    assert demo_entry["examples"] == ["The docs are great.", "Support never answered."]
    assert demo_entry["url"] == f"/models/{DEMO}/"
    assert demo_entry["anonymous"] is True
    # The newest published version answers; the deprecated newer one can still be picked.
    assert by_id["topics"]["version"] == 1
    assert [v["version"] for v in by_id["topics"]["versions"]] == [2, 1]
    assert config["initial"]["model"] == DEMO
    assert config["limits"] == {"max_inputs": 32, "max_chars": 2000, "file_max_bytes": 1_000_000}


def test_a_model_page_link_opens_the_playground_on_that_model(demo, client, fixed_head_artifact):
    make_version(fixed_head_artifact, slug="topics")
    model_page = client.get("/models/topics/").content.decode()
    assert 'href="/playground/topics/"' in model_page
    response = client.get("/playground/topics/")
    assert response.status_code == 200
    assert config_of(response)["initial"]["model"] == "topics"
    assert '<option value="topics" selected>' in response.content.decode()


def test_the_docs_open_in_playground_link_fills_the_model_and_inputs(demo, client):
    response = client.get("/playground/", {"model": DEMO, "input": ["First line.", "Second line."]})
    html = response.content.decode()
    assert ">First line.\nSecond line.</textarea>" in html
    assert config_of(response)["initial"]["inputs"] == ["First line.", "Second line."]


def test_an_unknown_model_is_a_404_and_a_retired_one_says_so(demo, client, fixed_head_artifact):
    assert client.get("/playground/no-such-model/").status_code == 404
    make_version(fixed_head_artifact, slug="draft-only", status=VersionStatus.DRAFT)
    assert client.get("/playground/draft-only/").status_code == 404
    make_version(fixed_head_artifact, slug="gone", status=VersionStatus.RETIRED)
    response = client.get("/playground/gone/")
    assert response.status_code == 410
    assert "The model gone was retired" in response.content.decode()
    assert config_of(response)["initial"]["model"] == DEMO


def test_the_page_sets_the_csrf_cookie_the_script_sends_back(demo, client):
    response = client.get("/playground/")
    assert "csrftoken" in response.cookies


def test_the_page_keeps_to_the_content_security_policy(demo, owner):
    html = signed_in(owner).get("/playground/").content.decode()
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert " style=" not in html
    assert "<style" not in html


def test_visitors_see_what_they_may_do_and_signed_in_users_see_their_history(demo, client, owner):
    anonymous = client.get("/playground/").content.decode()
    assert "You are not signed in" in anonymous
    assert 'id="pg-history"' not in anonymous
    assert "/accounts/login/?next=%2Fplayground%2F" in anonymous
    member = signed_in(owner).get("/playground/").content.decode()
    assert "You are not signed in" not in member
    assert 'id="pg-history"' in member
    assert config_of(signed_in(owner).get("/playground/"))["user"] == {"authenticated": True, "plan": "Free"}


def test_the_chinese_page_is_the_same_page_translated(demo, client):
    response = client.get("/zh-hans/playground/")
    html = response.content.decode()
    assert '<html lang="zh-hans"' in html
    assert "体验场" in html  # "Playground"
    assert ">运行<" in html  # the Run button
    strings = re.search(r'id="playground-strings" type="application/json">(.*?)</script>', html, re.S).group(1)
    import json

    strings = json.loads(strings)
    assert strings["status_idle"] != "Ready. Pick a model, enter text and press Run (Ctrl+Enter)."
    assert re.search(r"[\u4e00-\u9fff]", strings["status_idle"])
    assert config_of(response)["urls"]["runs"] == "/zh-hans/playground/api/runs/"


def test_every_script_string_is_translated_into_chinese(demo, client):
    import json

    english = client.get("/playground/").content.decode()
    chinese = client.get("/zh-hans/playground/").content.decode()

    def strings(html):
        return json.loads(re.search(r'id="playground-strings" type="application/json">(.*?)</script>', html,
                                    re.S).group(1))  # fmt: skip

    en, zh = strings(english), strings(chinese)
    assert en.keys() == zh.keys()
    untranslated = [key for key in en if en[key] == zh[key] and key not in ("ms",)]
    assert untranslated == []


def test_the_page_takes_the_same_few_queries_however_many_models_there_are(
    demo, client, fixed_head_artifact, django_assert_max_num_queries
):
    with django_assert_max_num_queries(10) as captured:
        client.get("/playground/")
    few = len(captured.captured_queries)
    for n in range(5):
        make_version(fixed_head_artifact, slug=f"extra-{n}")
    with django_assert_max_num_queries(few):
        client.get("/playground/")


def test_the_playground_endpoints_stay_out_of_the_public_api_schema(client, db):
    schema = client.get("/api/schema/").content.decode()
    assert "/playground/" not in schema
    assert "jobs_ahead" in schema and "workers_online" in schema


def test_staff_can_list_runs_in_the_admin(demo, owner, admin_user):
    from apps.inference.services import inference_job_submit
    from apps.playground.services import playground_run_create

    playground_run_create(owner=owner, job_id=inference_job_submit(owner=owner, model=DEMO, inputs=["in admin"]).id)
    page = signed_in(admin_user).get("/admin/playground/run/")
    assert page.status_code == 200
    assert "in admin" in page.content.decode()
    assert signed_in(owner).get("/admin/playground/run/").status_code == 302


def _compare_toggle(response):
    html = response.content.decode()
    return re.search(r'<div class="field-check pg-compare-toggle"[^>]*>\s*<input[^>]*>', html).group(0)


def test_compare_mode_is_offered_only_with_two_model_versions_to_compare(demo, client, owner, fixed_head_artifact):
    alone = _compare_toggle(signed_in(owner).get("/playground/"))
    assert " hidden" in alone and " disabled" in alone
    make_version(fixed_head_artifact, slug="topics", version=1)
    offered = _compare_toggle(signed_in(owner).get("/playground/"))
    assert " hidden" not in offered and " disabled" not in offered
    # A visitor may run the demo model only: still nothing to compare it with.
    visitor = _compare_toggle(client.get("/playground/"))
    assert " hidden" in visitor and " disabled" in visitor
