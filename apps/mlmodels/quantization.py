"""Measuring a version's int8 variant against its fp32 artifact (no database writes here:
``services.model_version_quantize`` stores what ``int8_measure`` returns).

The evaluation data is the version's own (``evaluation_set``): its test file when it was
trained with one; SST-2's test file (``../shared/data/sst2/test.tsv``, read by path) when
it was trained on SST-2 without one; else its evaluation file, or the held-out share of
its training file rebuilt from the recorded seed. Both variants are measured in the same
run, on the same examples, through the runtime that serves them (``runtime.Classifier``),
so the loss compares like with like.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from .models import ModelVersion
from .training.config import DataError

LogFn = Callable[[str], None]

# Raw throughput is timed at this batch size on this many of the evaluation sentences
# (repeated when there are fewer), best of ``THROUGHPUT_ROUNDS`` alternating rounds.
THROUGHPUT_BATCH = 32
THROUGHPUT_SENTENCES = 256
THROUGHPUT_ROUNDS = 3
SST2_TEST = ("sst2", "test.tsv")


@dataclass(frozen=True)
class EvaluationSet:
    source: str
    texts: list[str]
    label_ids: list[int]


def _resolve(path: str) -> Path:
    """A path as recorded by a training run: absolute, or relative to the repository root."""
    candidate = Path(path)
    return candidate if candidate.is_absolute() else (Path(settings.BASE_DIR) / candidate).resolve()


def _shown(path: Path) -> str:
    from .services import _display_path

    return _display_path(str(path))


def _read(path: Path, *, labels: list[str], text_column: str | None, label_column: str | None) -> EvaluationSet:
    from .training.data import read_labeled_file, resolve_labels

    rows = read_labeled_file(path, text_column=text_column, label_column=label_column)
    _names, mapping = resolve_labels({"train": rows}, labels)
    return EvaluationSet(source=_shown(path), texts=rows.texts, label_ids=[mapping[label] for label in rows.labels])


def _sst2_test(train_path: str) -> Path | None:
    """SST-2's test file beside the checkout when ``train_path`` is one of SST-2's files."""
    if _resolve(train_path).parent.name != SST2_TEST[0]:
        return None
    path = Path(settings.BASE_DIR).resolve().parent / "shared" / "data" / SST2_TEST[0] / SST2_TEST[1]
    return path if path.is_file() else None


def evaluation_set(*, version: ModelVersion, data_path: str | None = None) -> EvaluationSet:
    """The examples ``version``'s variants are measured on (see the module docstring), or
    ``data_path`` when given (a labeled .tsv/.csv/.jsonl file).

    Raises ``DataError`` when no evaluation data is known for the version (pass
    ``data_path``) or the file is missing or unfit.
    """
    labels = list(version.model.labels)
    params = version.hyperparameters or {}
    columns = {"text_column": params.get("text_column"), "label_column": params.get("label_column")}
    if data_path:
        return _read(_resolve(data_path), labels=labels, text_column=None, label_column=None)
    train_path = params.get("train_path")
    if not train_path:
        raise DataError(f"{version}: no training record names its evaluation data; give a labeled file to measure on")
    if params.get("test_path"):
        return _read(_resolve(params["test_path"]), labels=labels, **columns)
    sst2 = _sst2_test(train_path)
    if sst2 is not None:
        return _read(sst2, labels=labels, text_column=None, label_column=None)
    if params.get("eval_path"):
        return _read(_resolve(params["eval_path"]), labels=labels, **columns)
    from .training.data import prepare_data

    data = prepare_data(
        train_path=str(_resolve(train_path)),
        labels=labels,
        max_train_examples=params.get("max_train_examples"),
        eval_fraction=params.get("eval_fraction", 0.1),
        seed=params.get("seed", 42),
        **columns,
    )
    return EvaluationSet(
        source=f"{_shown(_resolve(train_path))} (held-out {params.get('eval_fraction', 0.1):.0%}, seed "
        f"{params.get('seed', 42)})",
        texts=data.eval.texts,
        label_ids=data.eval.label_ids,
    )


def _per_second(classifier: Any, sentences: list[str], batch: int) -> float:
    started = time.perf_counter()
    for start in range(0, len(sentences), batch):
        classifier.predict(sentences[start : start + batch])
    return len(sentences) / (time.perf_counter() - started)


def int8_measure(
    *,
    version: ModelVersion,
    evaluation: EvaluationSet,
    sentences: int = THROUGHPUT_SENTENCES,
    rounds: int = THROUGHPUT_ROUNDS,
    log: LogFn | None = None,
) -> dict[str, Any]:
    """Load ``version`` as fp32 and as int8 on the CPU, measure both on ``evaluation`` and
    time both at batch 32; return the ``variants["int8"]`` figures (``models.py``)."""
    import torch

    from .runtime import FP32, INT8, load_classifier

    say = log or (lambda message: None)
    if not evaluation.texts:
        raise DataError(f"{evaluation.source}: no examples to measure on")
    say(f"loading {version} as fp32 and int8 on the CPU")
    loaded = {
        variant: load_classifier(version.artifact_path, device="cpu", max_length=version.max_length, variant=variant)
        for variant in (FP32, INT8)
    }
    labels = loaded[FP32].labels
    predicted: dict[str, list[int]] = {}
    accuracy: dict[str, float] = {}
    for variant, classifier in loaded.items():
        say(f"{variant}: predicting {len(evaluation.texts)} examples of {evaluation.source}")
        predicted[variant] = [labels.index(p.label) for p in classifier.predict(evaluation.texts)]
        right = sum(p == t for p, t in zip(predicted[variant], evaluation.label_ids, strict=True))
        accuracy[variant] = right / len(evaluation.texts)
        say(f"{variant}: accuracy {accuracy[variant]:.4f}")
    same = sum(a == b for a, b in zip(predicted[FP32], predicted[INT8], strict=True))
    timed = (evaluation.texts * (sentences // len(evaluation.texts) + 1))[:sentences]
    best = dict.fromkeys(loaded, 0.0)
    for classifier in loaded.values():
        classifier.predict(timed[:THROUGHPUT_BATCH])  # warm up kernels and the allocator
    for round_number in range(rounds):
        for variant, classifier in loaded.items():
            best[variant] = max(best[variant], _per_second(classifier, timed, THROUGHPUT_BATCH))
        say(f"throughput round {round_number + 1}/{rounds}: fp32 {best[FP32]:.0f}/s, int8 {best[INT8]:.0f}/s")
    return {
        "accuracy": round(accuracy[INT8], 6),
        "accuracy_fp32": round(accuracy[FP32], 6),
        "loss_points": round((accuracy[FP32] - accuracy[INT8]) * 100, 4),
        "agreement": round(same / len(evaluation.texts), 6),
        "eval_examples": len(evaluation.texts),
        "eval_data": evaluation.source,
        "batch": THROUGHPUT_BATCH,
        "sentences_per_s_fp32": round(best[FP32], 1),
        "sentences_per_s_int8": round(best[INT8], 1),
        "speedup_b32": round(best[INT8] / best[FP32], 3),
        "torch": torch.__version__,
        "measured_at": timezone.now().isoformat(),
    }
