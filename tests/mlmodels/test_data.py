"""Reading training files, and refusing bad input before any model is loaded."""

# A seeded generator picks test samples.
# ruff: noqa: S311

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apps.mlmodels.models import MLModel, ModelVersion
from apps.mlmodels.services import model_version_register
from apps.mlmodels.training.config import DataError, TrainingConfig
from apps.mlmodels.training.data import prepare_data, read_labeled_file, stratified_indices

from . import shared_data, write_rows

POSITIVE = [f"I really like feature number {i}, it works great." for i in range(12)]
NEGATIVE = [f"Feature number {i} is broken and I hate it." for i in range(12)]
MIXED = [(t, "positive") for t in POSITIVE] + [(t, "negative") for t in NEGATIVE]


@pytest.fixture
def artifacts(settings, tmp_path: Path) -> Path:
    settings.MODEL_ARTIFACTS_DIR = tmp_path / "models"
    return settings.MODEL_ARTIFACTS_DIR


def test_a_tsv_with_a_header_reads_the_named_columns_and_strips_spaces(tmp_path):
    path = tmp_path / "sst.tsv"
    path.write_text("sentence\tlabel\nit 's a charming journey . \t1\nunflinchingly bleak \t0\n", encoding="utf-8")
    rows = read_labeled_file(path)
    assert rows.texts == ["it 's a charming journey .", "unflinchingly bleak"]
    assert rows.labels == ["1", "0"]
    assert rows.lines == [2, 3]


def test_a_tsv_without_a_header_reads_text_then_label_and_keeps_quotes(tmp_path):
    path = tmp_path / "news.tsv"
    path.write_text('He said "we won" after the final.\tSports\n"Oil" prices rise again\tBusiness\n', encoding="utf-8")
    rows = read_labeled_file(path)
    assert rows.texts == ['He said "we won" after the final.', '"Oil" prices rise again']
    assert rows.labels == ["Sports", "Business"]


def test_a_csv_keeps_quoted_commas_and_columns_can_be_chosen_by_name(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text('id,body,stars\n1,"Fast, simple, good",pos\n2,"Slow, and\nbroken",neg\n', encoding="utf-8")
    rows = read_labeled_file(path, text_column="body", label_column="stars")
    assert rows.texts == ["Fast, simple, good", "Slow, and\nbroken"]
    assert rows.labels == ["pos", "neg"]


def test_columns_can_be_chosen_by_number_in_a_file_without_a_header(tmp_path):
    path = tmp_path / "three.tsv"
    path.write_text("7\tgood stuff\tpositive\n8\tbad stuff\tnegative\n", encoding="utf-8")
    rows = read_labeled_file(path, text_column="1", label_column="2")
    assert rows.texts == ["good stuff", "bad stuff"]
    assert rows.labels == ["positive", "negative"]


def test_jsonl_integer_labels_map_to_the_names_given_in_order(tmp_path):
    path = tmp_path / "data.jsonl"
    lines = [{"text": "great", "label": 1}, {"text": "awful", "label": 0}, {"text": "fine", "label": 1}]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    data = prepare_data(train_path=str(path), eval_path=str(path), labels=["negative", "positive"])
    assert data.labels == ["negative", "positive"]
    assert data.train.label_ids == [1, 0, 1]


def test_one_based_ids_map_to_names_like_ag_news(tmp_path):
    rows = [("world news", "1"), ("a match", "2"), ("stocks", "3"), ("a chip", "4")] * 3
    path = write_rows(tmp_path / "ag.tsv", rows, header=None)
    data = prepare_data(train_path=str(path), eval_path=str(path), labels=["World", "Sports", "Business", "Sci/Tech"])
    assert data.train.label_ids[:4] == [0, 1, 2, 3]
    assert data.describe()["train"]["label_counts"] == {"World": 3, "Sports": 3, "Business": 3, "Sci/Tech": 3}


def test_integer_labels_without_names_keep_numeric_order(tmp_path):
    path = write_rows(tmp_path / "ids.tsv", [("a", "10"), ("b", "2"), ("c", "2"), ("d", "10")])
    data = prepare_data(train_path=str(path), eval_path=str(path))
    assert data.labels == ["2", "10"]
    assert data.train.label_ids == [1, 0, 0, 1]


def test_without_an_eval_file_a_stratified_share_is_held_out_without_overlap(tmp_path):
    rows = [(f"good {i}", "positive") for i in range(60)] + [(f"bad {i}", "negative") for i in range(40)]
    path = write_rows(tmp_path / "all.tsv", rows)
    data = prepare_data(train_path=str(path), eval_fraction=0.2, seed=3)
    held = Counter(data.eval.label_ids)
    assert held == {data.labels.index("positive"): 12, data.labels.index("negative"): 8}
    assert set(data.train.texts).isdisjoint(data.eval.texts)
    assert len(data.train) + len(data.eval) == 100
    assert "held-out 20%" in data.eval.source
    again = prepare_data(train_path=str(path), eval_fraction=0.2, seed=3)
    assert again.eval.texts == data.eval.texts


def test_a_stratified_sample_keeps_every_label_and_its_share():
    labels = [0] * 900 + [1] * 90 + [2] * 10
    chosen = stratified_indices(labels, 100, random.Random(0))
    counts = Counter(labels[i] for i in chosen)
    assert len(chosen) == len(set(chosen)) == 100
    assert counts == {0: 90, 1: 9, 2: 1}


def test_max_train_examples_samples_the_training_set_by_label(tmp_path):
    path = write_rows(tmp_path / "train.tsv", MIXED)
    data = prepare_data(train_path=str(path), eval_path=str(path), max_train_examples=10)
    assert Counter(data.train.label_ids) == {0: 5, 1: 5}
    assert len(data.eval) == 24


def test_the_shared_sst2_and_ag_news_files_read_with_their_labels():
    sst2 = prepare_data(
        train_path=str(shared_data("sst2", "test.tsv")),
        eval_path=str(shared_data("sst2", "test.tsv")),
        labels=["negative", "positive"],
    )
    assert sst2.describe()["train"]["label_counts"] == {"negative": 428, "positive": 444}
    agnews = prepare_data(
        train_path=str(shared_data("agnews", "test.tsv")), eval_path=str(shared_data("agnews", "test.tsv"))
    )
    assert agnews.labels == ["Business", "Sci/Tech", "Sports", "World"]
    assert len(agnews.train) == 7600
    assert set(Counter(agnews.train.label_ids).values()) == {1900}


def test_training_parameters_round_trip_through_json_and_reject_unknown_keys():
    config = TrainingConfig(slug="topic", train_path="/data/train.tsv", labels=["a", "b"], epochs=2, lr=3e-5)
    params = json.loads(json.dumps(config.to_params()))
    assert TrainingConfig.from_params(params) == config
    with pytest.raises(DataError, match="unknown training parameter"):
        TrainingConfig.from_params({**params, "learning_rate": 1})
    with pytest.raises(DataError, match="wrong type"):
        TrainingConfig.from_params({**params, "epochs": "many"})
    with pytest.raises(DataError, match="--slug"):
        TrainingConfig.from_params({**params, "slug": "Not A Slug"})


def _bad_input_cases(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    good = write_rows(tmp_path / "good.tsv", MIXED)
    latin1 = tmp_path / "latin1.tsv"
    latin1.write_bytes("text\tlabel\nun café noir\tpositive\n".encode("latin-1"))
    short = tmp_path / "short.tsv"
    short.write_text("text\tlabel\ngood\tpositive\nno label here\n", encoding="utf-8")
    empty = tmp_path / "empty.tsv"
    empty.write_text("\n\n", encoding="utf-8")
    return {
        "missing file": (["--train", str(tmp_path / "nope.tsv"), "--eval", str(good)], "nope.tsv: no such file"),
        "missing column": (["--train", str(good), "--label-column", "stars"], "no column named 'stars'"),
        "no label column in the header": (
            ["--train", str(write_rows(tmp_path / "h.tsv", MIXED, header="text\tscore"))],
            "no label column in the header",
        ),
        "unknown label in eval": (
            ["--train", str(good), "--eval", str(write_rows(tmp_path / "e.tsv", [*MIXED, ("meh", "neutral")]))],
            "unknown label(s) in eval: 'neutral' (first on line 26)",
        ),
        "unknown label in test": (
            ["--train", str(good), "--test", str(write_rows(tmp_path / "t.tsv", [("so so", "mixed")]))],
            "unknown label(s) in test: 'mixed'",
        ),
        "one class only": (
            ["--train", str(write_rows(tmp_path / "one.tsv", MIXED[:12]))],
            "every training example has the label 'positive'",
        ),
        "empty file": (["--train", str(empty)], "the file is empty"),
        "header only": (["--train", str(write_rows(tmp_path / "hdr.tsv", []))], "no examples"),
        "not UTF-8": (["--train", str(latin1)], "line 2: not UTF-8 text"),
        "empty label": (
            ["--train", str(write_rows(tmp_path / "nolabel.tsv", [*MIXED, ("lonely", "")]))],
            "the label is empty",
        ),
        "short row": (["--train", str(short)], "short.tsv, line 3: expected at least 2 columns, found 1"),
        "ids that do not fit the names": (
            ["--train", str(write_rows(tmp_path / "ids.tsv", [("a", "0"), ("b", "5")])), "--labels", "neg,pos"],
            "label ids '0', '5' do not fit the 2 names",
        ),
        "unknown file type": (["--train", str(tmp_path / "data.txt")], "unknown file type '.txt'"),
        "bad setting": (["--train", str(good), "--max-length", "4"], "--max-length must be between 8 and 512"),
    }


@pytest.mark.django_db
def test_every_kind_of_bad_input_stops_with_a_clear_message_before_loading_a_model(tmp_path, artifacts):
    # The base encoder points nowhere: reaching the model load would fail with "base encoder
    # not found" instead, so each expected message proves the check came first.
    missing_encoder = str(tmp_path / "no-encoder")
    for case, (args, expected) in _bad_input_cases(tmp_path).items():
        with pytest.raises(CommandError) as excinfo:
            call_command("train_classifier", *args, "--slug", "bad-input", "--base-encoder", missing_encoder)
        assert expected in str(excinfo.value), case
        assert "base encoder" not in str(excinfo.value), case
    assert not artifacts.exists()
    assert not MLModel.objects.exists()


@pytest.mark.django_db
def test_good_input_reaches_the_model_load_which_names_a_missing_encoder(tmp_path, artifacts):
    good = write_rows(tmp_path / "good.tsv", MIXED)
    with pytest.raises(CommandError, match="base encoder not found"):
        call_command("train_classifier", "--train", str(good), "--slug", "ok", "--base-encoder", str(tmp_path / "x"))
    assert not artifacts.exists()
    assert not ModelVersion.objects.exists()


@pytest.mark.django_db
def test_training_a_new_version_with_other_labels_stops_before_training(tmp_path, artifacts):
    model_version_register(
        slug="topics", name="Topics", labels=["sports", "world"], artifact_dir="topics/v1",
        base_encoder="e", max_length=64, training_data={}, hyperparameters={}, metrics={}, model_card="",
    )  # fmt: skip
    good = write_rows(tmp_path / "good.tsv", MIXED)
    with pytest.raises(CommandError, match=r"has the labels \['sports', 'world'\]"):
        call_command("train_classifier", "--train", str(good), "--slug", "topics", "--base-encoder", str(tmp_path))
    assert ModelVersion.objects.count() == 1
    assert not artifacts.exists()
