import pytest
from django.urls import reverse

from apps.mlmodels.models import MLModel, ModelVersion, VersionStatus

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

METRICS = {
    "accuracy": 0.875,
    "macro_f1": 0.871,
    "eval_examples": 8,
    "per_label": {
        "negative": {"precision": 0.8, "recall": 1.0, "f1": 0.889, "support": 4},
        "positive": {"precision": 1.0, "recall": 0.75, "f1": 0.857, "support": 4},
    },
    "confusion_matrix": [[4, 0], [1, 3]],
    "history": [
        {"step": 10, "epoch": 1, "train_loss": 0.6, "eval_accuracy": 0.7},
        {"step": 20, "epoch": 1, "train_loss": 0.3, "eval_accuracy": 0.875},
    ],
}


def _version(slug="sentiment-test", status=VersionStatus.PUBLISHED, version=1, **fields):
    model, _ = MLModel.objects.get_or_create(
        slug=slug,
        defaults={"name": "Sentiment test", "labels": ["negative", "positive"], "description": "Says how a text feels.",
                  "example_inputs": ["The API is fast."]},
    )  # fmt: skip
    defaults = {"artifact_dir": f"{slug}/v{version}", "base_encoder": "all-MiniLM-L6-v2", "metrics": METRICS,
                "model_card": "# Sentiment test\n\n## Intended use\n\nShort English texts."}  # fmt: skip
    return ModelVersion.objects.create(model=model, version=version, status=status, **{**defaults, **fields})


def test_the_model_page_shows_card_labels_metrics_charts_and_a_playground_link(client):
    _version()
    html = client.get(reverse("mlmodels:detail", kwargs={"slug": "sentiment-test"})).content.decode()
    assert "Intended use" in html
    assert "0.875" in html
    assert "0.889" in html  # per-label F1
    assert html.count('<figure class="chart"><svg') == 2  # confusion matrix and training curve
    assert reverse("playground:model", kwargs={"model": "sentiment-test"}) in html
    assert "The API is fast." in html


def test_a_draft_is_hidden_from_developers_and_previewed_by_staff(client, owner, admin_user):
    _version(status=VersionStatus.DRAFT)
    url = reverse("mlmodels:detail", kwargs={"slug": "sentiment-test"})
    assert client.get(url).status_code == 404
    client.force_login(owner)
    assert client.get(url).status_code == 404
    assert "sentiment-test" not in client.get(reverse("mlmodels:list")).content.decode()
    client.force_login(admin_user)
    page = client.get(url)
    assert page.status_code == 200
    assert "only staff can see" in page.content.decode()


def test_the_page_shows_the_serving_version_and_warns_about_deprecated_and_retired_ones(client):
    _version(status=VersionStatus.DEPRECATED, version=1)
    _version(status=VersionStatus.PUBLISHED, version=2)
    _version(status=VersionStatus.RETIRED, version=3)
    html = client.get(reverse("mlmodels:detail", kwargs={"slug": "sentiment-test"})).content.decode()
    assert "v2" in html.split("</h1>")[0]
    old = client.get(reverse("mlmodels:version", kwargs={"slug": "sentiment-test", "version": 1})).content.decode()
    assert "deprecated" in old.lower()
    gone = client.get(reverse("mlmodels:version", kwargs={"slug": "sentiment-test", "version": 3})).content.decode()
    assert "no longer answers" in gone
    assert client.get(reverse("mlmodels:version", kwargs={"slug": "sentiment-test", "version": 9})).status_code == 404


def test_the_model_list_costs_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    for i in range(12):
        _version(slug=f"model-{i}")
        _version(slug=f"model-{i}", version=2, status=VersionStatus.DEPRECATED)
    with django_assert_max_num_queries(4):
        response = client.get(reverse("mlmodels:list"))
    assert response.content.decode().count('class="card stack"') == 12


def test_the_chinese_model_page_is_translated(client):
    _version()
    html = client.get("/zh-hans/models/sentiment-test/").content.decode()
    assert "标签" in html


def test_the_home_page_lists_published_models_but_not_drafts(client):
    _version(slug="live-model")
    _version(slug="secret-model", status=VersionStatus.DRAFT)
    html = client.get("/").content.decode()
    assert reverse("mlmodels:detail", kwargs={"slug": "live-model"}) in html
    assert "secret-model" not in html
