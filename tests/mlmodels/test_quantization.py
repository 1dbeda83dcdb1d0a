"""The int8 variant of a version: agreement with fp32, the serving rule, the quantize
command, the admin action and task, and the model page."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from apps.inference.results import MANIFEST_KEY
from apps.inference.worker import WorkerState
from apps.mlmodels.models import MLModel, ModelVersion, VersionStatus
from apps.mlmodels.quantization import evaluation_set
from apps.mlmodels.runtime import ClassifierCache, load_classifier, serving_variant
from apps.mlmodels.selectors import model_version_serving, version_message
from apps.mlmodels.tasks import quantize as quantize_task
from apps.mlmodels.training.data import prepare_data

from ..models import int8_figures
from . import DEMO_TSV, SHARED_DATA, demo_rows, write_rows

LABELS = ["negative", "positive"]


def build_seeded_head_artifact(path: Path) -> Path:
    """The bundled encoder with a seeded random head: its answers depend on the input (two
    labels, both predicted), unlike the fixed head's, and are the same on every build."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from apps.mlmodels.runtime import base_encoder_path

    if (path / "config.json").exists():
        return path
    torch.manual_seed(0)  # the pooler is initialised at random too
    base = base_encoder_path()
    model = AutoModelForSequenceClassification.from_pretrained(
        base,
        num_labels=2,
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
        local_files_only=True,
    )
    with torch.no_grad():
        model.classifier.weight.normal_(0, 1.0)
        model.classifier.bias.zero_()
    tmp = path.with_name(path.name + ".tmp")
    model.save_pretrained(tmp)
    AutoTokenizer.from_pretrained(base, local_files_only=True).save_pretrained(tmp)
    tmp.rename(path)
    return path


@pytest.fixture(scope="module")
def seeded_artifact() -> Path:
    return build_seeded_head_artifact(Path(settings.MODEL_ARTIFACTS_DIR) / "tests" / "seeded-head")


def _version(artifact: Path, *, loss: float | None = None, status: str = VersionStatus.PUBLISHED, **fields: Any):
    model, _ = MLModel.objects.get_or_create(slug="seeded", defaults={"name": "Seeded head", "labels": LABELS})
    variants = {} if loss is None else {"int8": int8_figures(loss)}
    return ModelVersion.objects.create(
        model=model,
        version=ModelVersion.objects.filter(model=model).count() + 1,
        status=status,
        artifact_dir=str(artifact),
        base_encoder="all-MiniLM-L6-v2",
        max_length=64,
        variants=variants,
        **fields,
    )


def test_the_int8_variant_holds_int8_linear_layers_and_agrees_with_fp32_on_most_sentences(seeded_artifact):
    texts = [text for text, _ in demo_rows(0, 120)]
    fp32 = load_classifier(seeded_artifact, device="cpu", max_length=64)
    int8 = load_classifier(seeded_artifact, device="cpu", max_length=64, variant="int8")
    assert (fp32.variant, int8.variant) == ("fp32", "int8")
    assert type(int8.model.classifier).__module__.startswith("torch.ao.nn.quantized.dynamic")
    assert type(fp32.model.classifier).__module__.startswith("torch.nn")
    full, quantised = fp32.predict(texts), int8.predict(texts)
    assert {p.label for p in full} == set(LABELS), "the head must answer both labels for agreement to mean much"
    agreement = sum(a.label == b.label for a, b in zip(full, quantised, strict=True)) / len(texts)
    assert agreement >= 0.8, agreement
    assert any(a.scores != b.scores for a, b in zip(full, quantised, strict=True)), "int8 changed nothing"
    for prediction in quantised:  # the outcome keeps its shape
        assert set(prediction.as_json()) == {"label", "score", "scores", "truncated"}
        assert list(prediction.scores) == LABELS
        assert math.isclose(sum(prediction.scores.values()), 1.0, rel_tol=1e-5)


def test_only_an_eligible_version_on_a_cpu_worker_that_allows_it_is_served_int8(seeded_artifact):
    assert serving_variant(eligible=True, allowed=True, device="cpu") == "int8"
    for eligible, allowed, device in [(False, True, "cpu"), (True, False, "cpu"), (True, True, "cuda")]:
        assert serving_variant(eligible=eligible, allowed=allowed, device=device) == "fp32"
    allowing = ClassifierCache(2, device="cpu", quantized=True)
    assert allowing.get(seeded_artifact, int8_eligible=False).variant == "fp32"
    assert allowing.get(seeded_artifact, int8_eligible=True).variant == "int8"
    assert allowing.loaded_variants() == {str(seeded_artifact.resolve()): "int8"}, "one variant per artifact"
    refusing = ClassifierCache(2, device="cpu", quantized=False)
    assert refusing.get(seeded_artifact, int8_eligible=True).variant == "fp32"


@pytest.mark.django_db
def test_a_version_losing_half_a_point_or_more_is_served_fp32_and_under_it_int8_when_allowed(seeded_artifact, settings):
    unmeasured, at_limit = _version(seeded_artifact), _version(seeded_artifact, loss=0.5)
    under = _version(seeded_artifact, loss=0.49)
    assert [version_message(v)["int8"] for v in (unmeasured, at_limit, under)] == [False, False, True]
    settings.INFERENCE_QUANTIZED = True
    state = WorkerState()
    assert state.classifier(version_message(at_limit)).variant == "fp32"
    assert state.classifier(version_message(under)).variant == "int8"
    assert state.info()["int8"] == ["tests/seeded-head"]
    settings.INFERENCE_QUANTIZED = False
    assert WorkerState().classifier(version_message(under)).variant == "fp32"


@pytest.mark.django_db
def test_the_quantize_command_measures_both_variants_and_stores_the_figures(
    seeded_artifact, tmp_path, django_capture_on_commit_callbacks
):
    version = _version(seeded_artifact)
    assert version_message(model_version_serving(slug="seeded", for_queue=True))["int8"] is False
    rows = demo_rows(0, 60)
    data = write_rows(tmp_path / "eval.tsv", rows)
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("quantize", "seeded", "--data", str(data), "--sentences", "64", stdout=out)
    version.refresh_from_db()
    int8 = version.variants["int8"]
    assert int8["eval_examples"] == 60
    assert int8["eval_data"].endswith("eval.tsv")
    # The fp32 figure is the served fp32 model's accuracy on the same rows.
    predictions = load_classifier(seeded_artifact, device="cpu", max_length=64).predict([t for t, _ in rows])
    right = sum(p.label == label for p, (_, label) in zip(predictions, rows, strict=True))
    assert int8["accuracy_fp32"] == pytest.approx(right / 60, abs=1e-6)
    assert int8["loss_points"] == pytest.approx((int8["accuracy_fp32"] - int8["accuracy"]) * 100, abs=1e-3)
    assert 0.8 <= int8["agreement"] <= 1.0
    ratio = int8["sentences_per_s_int8"] / int8["sentences_per_s_fp32"]
    assert int8["speedup_b32"] == pytest.approx(ratio, rel=0.01)
    assert int8["batch"] == 32
    text = out.getvalue()
    assert "Building the int8 variant of seeded v1" in text
    assert "throughput round 3/3" in text
    assert f"loss {int8['loss_points']:+.2f} points" in text
    # The queue's copy of the version and the workers' manifest learn the verdict at once.
    eligible = int8["loss_points"] < 0.5
    assert version.int8_eligible is eligible
    assert version_message(model_version_serving(slug="seeded", for_queue=True))["int8"] is eligible
    assert [entry["int8"] for entry in cache.get(MANIFEST_KEY)] == [eligible]


@pytest.mark.django_db
def test_a_version_with_no_known_evaluation_data_is_refused_clearly_and_nothing_is_stored(seeded_artifact):
    _version(seeded_artifact)
    with pytest.raises(CommandError, match="no training record names its evaluation data"):
        call_command("quantize", "seeded", stdout=io.StringIO())
    with pytest.raises(CommandError, match="No model version seeded v7"):
        call_command("quantize", "seeded", "--version", "7", stdout=io.StringIO())
    assert ModelVersion.objects.get().variants == {}


@pytest.mark.django_db
def test_the_evaluation_data_is_the_test_file_then_sst2_test_then_the_held_out_share(seeded_artifact, tmp_path):
    test_file = write_rows(tmp_path / "test.tsv", demo_rows(0, 30))
    with_test = _version(seeded_artifact, hyperparameters={"train_path": str(DEMO_TSV), "test_path": str(test_file)})
    assert evaluation_set(version=with_test).texts == [text for text, _ in demo_rows(0, 30)]
    # The held-out share is rebuilt exactly as training drew it (same file, share and seed).
    params = {"train_path": str(DEMO_TSV), "eval_fraction": 0.15, "seed": 42}
    held_out = evaluation_set(version=_version(seeded_artifact, hyperparameters=params))
    drawn = prepare_data(train_path=str(DEMO_TSV), labels=LABELS, eval_fraction=0.15, seed=42).eval
    assert (held_out.texts, held_out.label_ids) == (drawn.texts, drawn.label_ids)
    assert "held-out 15%" in held_out.source
    if (SHARED_DATA / "sst2" / "test.tsv").is_file():
        sst2 = {"train_path": "../shared/data/sst2/train.tsv", "eval_path": "../shared/data/sst2/dev.tsv"}
        measured = evaluation_set(version=_version(seeded_artifact, hyperparameters=sst2))
        assert measured.source == "../shared/data/sst2/test.tsv"
        assert len(measured.texts) == 872


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.mark.django_db
def test_the_admin_action_queues_a_build_records_who_asked_and_the_task_stores_the_figures(
    staff_client, admin_user, seeded_artifact, tmp_path, django_capture_on_commit_callbacks
):
    evaluation = write_rows(tmp_path / "eval.tsv", demo_rows(60, 100))
    version = _version(seeded_artifact, hyperparameters={"train_path": str(DEMO_TSV), "eval_path": str(evaluation)})
    orphan = _version(seeded_artifact)  # no training record: refused, nothing queued or recorded
    url = reverse("admin:mlmodels_modelversion_changelist")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = staff_client.post(
            url, {"action": "build_int8", "_selected_action": [version.pk, orphan.pk]}, follow=True
        )
    page = response.content.decode()
    assert "1 int8 variant build queued" in page
    assert "no training record names its evaluation data" in page
    assert len(callbacks) == 1
    (entry,) = LogEntry.objects.all()
    assert (entry.user_id, entry.object_id, entry.object_repr) == (admin_user.pk, str(version.pk), "seeded v1")
    assert "Queued an int8 variant build, measured on" in entry.change_message

    # The callback sends ``mlmodels.quantize``; here its body runs in-process.
    outcome = quantize_task.apply(args=[version.pk], kwargs={"sentences": 32}).get()
    version.refresh_from_db()
    assert outcome == {"version": version.pk, "status": "succeeded", "int8": version.variants["int8"]}
    assert version.variants["int8"]["eval_examples"] == 40
    failed = quantize_task.apply(args=[orphan.pk]).get()
    assert failed["status"] == "failed" and "no training record" in failed["error"]
    assert quantize_task.apply(args=[10**9]).get() == {"version": 10**9, "status": "skipped"}
    change = staff_client.get(reverse("admin:mlmodels_modelversion_change", args=[version.pk])).content.decode()
    assert "at batch 32" in change


@pytest.mark.django_db
def test_the_model_page_shows_the_int8_variant_and_whether_it_serves_in_english_and_chinese(
    client, seeded_artifact, settings
):
    version = _version(seeded_artifact, loss=0.3)
    page = client.get(version.model.get_absolute_url()).content.decode()
    assert "Quantised variant (int8)" in page
    for shown in ("0.8970", "0.9000", "0.30 points", "2.10×", "Yes, by CPU workers", "315 sentences per second"):
        assert shown in page, shown
    worse = _version(seeded_artifact, loss=0.8)
    page = client.get(worse.get_absolute_url()).content.decode()
    assert "0.80 points" in page
    assert "Not served: the int8 variant loses 0.5 accuracy points or more" in page
    plain = _version(seeded_artifact)
    assert "Quantised variant" not in client.get(plain.get_absolute_url()).content.decode()
    settings.INFERENCE_QUANTIZED = False
    page = client.get(version.get_absolute_url()).content.decode()
    assert "quantised serving is turned off" in page
    assert "Yes, by CPU workers" not in page

    chinese_url = f"/zh-hans/models/seeded/v{version.version}/"
    chinese = client.get(chinese_url).content.decode()
    for shown in ("量化版本（int8）", "0.30 个百分点", "批大小 32 时的加速比", "本门户已关闭量化服务"):
        assert shown in chinese, shown
    settings.INFERENCE_QUANTIZED = True
    chinese = client.get(chinese_url).content.decode()
    assert "是，由 CPU 工作进程提供" in chinese
