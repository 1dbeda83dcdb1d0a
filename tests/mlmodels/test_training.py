"""Fine-tuning: evaluation over the label axis, metrics, batching, artifacts, the demo model."""

# Seeded generators make test data; the SVG parsed is our own output.
# ruff: noqa: S311, S314

from __future__ import annotations

import io
import json
import random
import xml.etree.ElementTree as ET

import pytest
import torch
from django.core.management import call_command
from django.core.management.base import OutputWrapper

from apps.mlmodels import demo
from apps.mlmodels.models import ModelVersion, VersionStatus
from apps.mlmodels.runtime import base_encoder_path, load_classifier
from apps.mlmodels.training.batching import encode, eval_batches, train_batches
from apps.mlmodels.training.config import TrainingConfig
from apps.mlmodels.training.data import prepare_data
from apps.mlmodels.training.evaluate import (
    classification_metrics,
    confusion_matrix,
    metrics_from_logits,
    predictions_from_logits,
    probabilities_from_logits,
)
from apps.mlmodels.training.trainer import LOAD_SHARE, TRAIN_SHARE, train

from . import DEMO_TSV, demo_rows, shared_data, write_rows


def test_predictions_take_the_argmax_over_the_label_axis_not_the_batch():
    # Rows are examples, columns are labels. Over the batch axis (dim=0) this would say
    # [1, 1]; over the label axis the answer is [1, 0].
    logits = torch.tensor([[0.0, 0.5], [0.9, 0.8]])
    assert logits.argmax(dim=0).tolist() == [1, 1]
    assert predictions_from_logits(logits) == [1, 0]
    assert metrics_from_logits(logits, [1, 0], ["negative", "positive"])["accuracy"] == 1.0
    # A batch of three over two labels: a batch-axis argmax would not even have one answer per example.
    wide = torch.tensor([[2.0, 1.0], [0.0, 3.0], [5.0, -1.0]])
    assert predictions_from_logits(wide) == [0, 1, 0]
    probabilities = probabilities_from_logits(wide)
    assert torch.allclose(probabilities.sum(dim=-1), torch.ones(3))
    with pytest.raises(ValueError, match=r"\[batch, num_labels\]"):
        predictions_from_logits(torch.tensor([0.1, 0.9]))


def test_metrics_match_a_hand_computed_example():
    labels = ["cat", "dog", "fox"]
    y_true = [0, 0, 0, 1, 1, 2, 2, 2, 2, 2]
    y_pred = [0, 0, 1, 1, 2, 2, 2, 2, 0, 2]
    metrics = classification_metrics(y_true, y_pred, labels)
    assert metrics["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [1, 0, 4]]
    assert metrics["accuracy"] == pytest.approx(0.7)
    cat, dog, fox = (metrics["per_label"][label] for label in labels)
    assert (cat["precision"], cat["recall"], cat["support"]) == (pytest.approx(2 / 3), pytest.approx(2 / 3), 3)
    assert cat["f1"] == pytest.approx(2 / 3)
    assert (dog["precision"], dog["recall"], dog["f1"]) == (0.5, 0.5, 0.5)
    assert (fox["precision"], fox["recall"]) == (pytest.approx(0.8), pytest.approx(0.8))
    assert metrics["macro_f1"] == pytest.approx((2 / 3 + 0.5 + 0.8) / 3)
    assert metrics["eval_examples"] == 10


def test_a_label_never_predicted_has_zero_precision_instead_of_an_error():
    metrics = classification_metrics([0, 1, 1], [1, 1, 1], ["a", "b"])
    assert metrics["per_label"]["a"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert metrics["per_label"]["b"]["precision"] == pytest.approx(2 / 3)
    assert confusion_matrix([0, 1, 1], [1, 1, 1], 2) == [[0, 1], [0, 2]]


def test_training_batches_cover_every_example_once_and_pad_far_less_than_arrival_order():
    rng = random.Random(0)
    lengths = [rng.randint(5, 60) for _ in range(3000)]
    batches = train_batches(lengths, 32, random.Random(1))
    flat = [i for batch in batches for i in batch]
    assert sorted(flat) == list(range(3000))

    def padding(batches):
        return sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches)

    arrival = [list(range(i, min(i + 32, 3000))) for i in range(0, 3000, 32)]
    assert padding(batches) < padding(arrival) / 5
    assert train_batches(lengths, 32, random.Random(1)) == batches
    assert train_batches(lengths, 32, random.Random(2)) != batches
    assert sorted(i for b in eval_batches(lengths, 64) for i in b) == list(range(3000))


def test_encoding_truncates_exactly_as_the_tokenizer_does_and_counts_what_was_cut():
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_encoder_path(), local_files_only=True)
    texts = ["short one", "a much longer sentence " * 20, "two words"]
    encoded = encode(tokenizer, texts, 16)
    assert encoded.truncated == 1
    assert encoded.ids == tokenizer(texts, truncation=True, max_length=16)["input_ids"]


def _sst2_slice(tmp_path, name: str, source: str, count: int):
    lines = shared_data("sst2", source).read_text(encoding="utf-8").splitlines()
    path = tmp_path / name
    path.write_text("\n".join(lines[: count + 1]) + "\n", encoding="utf-8")
    return path, [line.split("\t") for line in lines[1 : count + 1]]


@pytest.mark.django_db
def test_training_on_an_sst2_slice_registers_a_draft_whose_metrics_match_a_reevaluation(tmp_path, settings):
    settings.MODEL_ARTIFACTS_DIR = tmp_path / "models"
    train, _ = _sst2_slice(tmp_path, "train.tsv", "train.tsv", 300)
    evaluation, eval_rows = _sst2_slice(tmp_path, "dev.tsv", "dev.tsv", 200)
    out = io.StringIO()
    call_command(
        "train_classifier", "--train", str(train), "--eval", str(evaluation), "--slug", "sst2-slice",
        "--labels", "negative,positive", "--epochs", "1", "--batch-size", "8", "--max-length", "64",
        stdout=out, stderr=io.StringIO(),
    )  # fmt: skip
    assert "Registered sst2-slice v1 (draft)" in out.getvalue()
    version = ModelVersion.objects.get()
    assert (version.version, version.status, version.artifact_dir) == (1, VersionStatus.DRAFT, "sst2-slice/v1")
    assert version.model.labels == ["negative", "positive"]
    assert version.training_data["train"]["examples"] == 300
    assert version.training_data["eval"]["path"].endswith("dev.tsv")
    directory = version.artifact_path
    saved = json.loads((directory / "metrics.json").read_text(encoding="utf-8"))
    assert saved == version.metrics
    assert saved["eval_examples"] == 200
    # The model predicts both labels, so agreeing on the matrix below says something.
    assert all(saved["confusion_matrix"][0][j] + saved["confusion_matrix"][1][j] for j in range(2))
    assert any("eval_accuracy" in point for point in saved["history"])

    classifier = load_classifier(directory, device="cpu")
    assert classifier.labels == ["negative", "positive"]
    assert classifier.max_length == 64
    predictions = classifier.predict([text.strip() for text, _ in eval_rows])
    truth = [int(label) for _, label in eval_rows]
    again = classification_metrics(truth, [classifier.labels.index(p.label) for p in predictions], classifier.labels)
    assert again["accuracy"] == pytest.approx(saved["accuracy"], abs=1e-6)
    assert again["confusion_matrix"] == saved["confusion_matrix"]
    assert again["macro_f1"] == pytest.approx(saved["macro_f1"], abs=1e-6)

    names = {path.name for path in directory.iterdir()}
    expected = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "metrics.json"}
    expected |= {"training_config.json", "training_curve.svg", "confusion_matrix.svg", "MODEL_CARD.md"}
    assert expected <= names
    for chart in ("training_curve.svg", "confusion_matrix.svg"):
        assert ET.fromstring((directory / chart).read_text(encoding="utf-8")).get("role") == "img"
    card = (directory / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert version.model_card == card
    for heading in ("## Intended use", "## Labels", "## Training data", "## Metrics", "## Limitations"):
        assert heading in card
    assert f"accuracy {saved['accuracy'] * 100:.1f} %" in card
    config = json.loads((directory / "training_config.json").read_text(encoding="utf-8"))
    assert (config["labels"], config["max_length"]) == (["negative", "positive"], 64)
    assert [p.name for p in directory.parent.iterdir()] == ["v1"]  # no staging directory left


def test_a_seeded_run_repeats_exactly_and_early_stopping_keeps_the_best_evaluated_step(tmp_path):
    train_path = write_rows(tmp_path / "train.tsv", demo_rows(0, 240))
    config = TrainingConfig(
        slug="seeded", train_path=str(train_path), epochs=3, batch_size=8, lr=5e-4, max_length=32,
        eval_every=2, patience=1, device="cpu",
    )  # fmt: skip
    data = prepare_data(train_path=config.train_path, seed=config.seed)

    def run():
        progress: list[tuple[float, str]] = []
        log: list[str] = []
        outcome = train(config, data, progress=lambda f, m: progress.append((f, m)), log=log.append)
        return outcome, progress, log

    first, progress, log = run()
    second, progress_again, log_again = run()
    assert second.metrics == first.metrics
    assert progress_again == progress
    assert log_again[:-1] == log[:-1]  # the last line states the seconds taken
    weights, weights_again = first.model.state_dict(), second.model.state_dict()
    assert all(torch.equal(weights[name], weights_again[name]) for name in weights)

    assert (first.stopped, first.eval_every) == ("early stopping", 2)
    assert first.steps < first.total_steps
    assert first.examples_seen == 8 * first.steps  # 216 examples: every batch is full
    evaluated = {p["step"]: p["eval_accuracy"] for p in first.metrics["history"] if "eval_accuracy" in p}
    assert set(evaluated) == set(range(2, first.steps + 1, 2))
    # Patience 1: the last evaluation is the first without gain, and the weights kept are the best step's.
    assert first.best_step < first.steps
    assert evaluated[first.best_step] == max(evaluated.values()) >= evaluated[first.steps]
    assert log[-1].startswith(f"stopped: early stopping after {first.steps} steps")
    assert progress[0] == (0.0, "loading the base encoder")
    assert progress[-1] == (LOAD_SHARE + TRAIN_SHARE, "evaluating the best weights")
    fractions = [fraction for fraction, _ in progress]
    assert fractions == sorted(fractions)


@pytest.mark.django_db
def test_a_tiny_time_budget_stops_cleanly_and_keeps_the_best_weights(tmp_path, settings):
    settings.MODEL_ARTIFACTS_DIR = tmp_path / "models"
    train = write_rows(tmp_path / "train.tsv", demo_rows(0, 240))
    call_command(
        "train_classifier", "--train", str(train), "--slug", "budget", "--epochs", "3", "--max-length", "32",
        "--max-minutes", "0.05", "--publish", stdout=io.StringIO(), stderr=io.StringIO(),
    )  # fmt: skip
    version = ModelVersion.objects.get()
    assert version.status == VersionStatus.PUBLISHED
    assert version.published_at
    run = json.loads((version.artifact_path / "training_config.json").read_text(encoding="utf-8"))["run"]
    assert run["stopped"] == "time budget"
    assert 1 <= run["steps"] < run["total_steps"]
    steps = [point["step"] for point in version.metrics["history"]]
    assert steps == sorted(set(steps))
    assert "eval_accuracy" in version.metrics["history"][-1]
    assert version.metrics["eval_examples"] == 24  # the stratified 10 % held out of 240


CLEAR_CUT = [
    ("This software is fantastic and very easy to use.", "positive"),
    ("The app is buggy and keeps freezing.", "negative"),
    ("The API is reliable and the responses are fast.", "positive"),
    ("The API is poorly designed and constantly returns errors.", "negative"),
    ("I love this API, integrating it was effortless.", "positive"),
    ("Their API documentation is confusing and incomplete.", "negative"),
    ("The support team was amazing and fixed my issue right away.", "positive"),
    ("Customer support ignored my emails for weeks.", "negative"),
    ("Support was helpful and polite.", "positive"),
    ("The help desk was useless and rude.", "negative"),
    ("What a wonderful movie, I enjoyed every minute.", "positive"),
    ("The film was boring and way too long.", "negative"),
    ("A brilliant film with a fantastic cast.", "positive"),
    ("This movie was a complete waste of time.", "negative"),
    ("The new version of the editor is excellent.", "positive"),
    ("The installer failed and corrupted my settings.", "negative"),
    ("The documentation is clear and full of useful examples.", "positive"),
    ("This library is terrible, avoid it.", "negative"),
    ("Everything worked perfectly, thank you!", "positive"),
    ("The update broke everything and nothing works now.", "negative"),
    ("Not bad at all, I was pleasantly surprised by the speed.", "positive"),
    ("I can't recommend this SDK, it is full of bugs.", "negative"),
]


@pytest.mark.django_db
def test_the_demo_model_is_trained_and_published_once_and_gets_clear_cut_sentences_right(tmp_path, settings):
    settings.MODEL_ARTIFACTS_DIR = tmp_path / "models"
    training_texts = {line.split("\t")[0] for line in DEMO_TSV.read_text(encoding="utf-8").splitlines()}
    assert not training_texts & {text for text, _ in CLEAR_CUT}, "the check sentences must be new to the model"
    out = io.StringIO()
    demo.load(stdout=OutputWrapper(out))
    version = ModelVersion.objects.get(model__slug=demo.SLUG)
    assert version.status == VersionStatus.PUBLISHED
    assert version.model.labels == ["negative", "positive"]
    assert "published v1 in" in out.getvalue()
    assert version.metrics["accuracy"] >= 0.8, version.metrics

    classifier = load_classifier(version.artifact_path, device="cpu")
    predictions = classifier.predict([text for text, _ in CLEAR_CUT])
    wrong = [(text, p.label) for (text, label), p in zip(CLEAR_CUT, predictions, strict=True) if p.label != label]
    assert len(wrong) <= len(CLEAR_CUT) // 10, wrong

    again = io.StringIO()
    demo.load(stdout=OutputWrapper(again))
    assert "nothing to train" in again.getvalue()
    assert ModelVersion.objects.filter(model__slug=demo.SLUG).count() == 1
