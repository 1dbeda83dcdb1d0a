"""The artifact directory of a model version, written all at once.

Layout of ``MODEL_ARTIFACTS_DIR/<slug>/v<N>/`` (read by ``apps.mlmodels.runtime``):
``config.json`` + ``model.safetensors`` (``save_pretrained``; ``id2label`` holds the
labels in logit order), the tokenizer files (``tokenizer.save_pretrained``, with
``model_max_length`` set to the training maximum), ``training_config.json`` (``slug``,
``labels``, ``max_length``, ``base_encoder``, ``hyperparameters``, ``training_data``,
``run``), ``metrics.json`` (the ``ModelVersion.metrics`` shape), ``training_curve.svg``,
``confusion_matrix.svg`` and ``MODEL_CARD.md``.

Everything is written into a staging directory beside the final one and renamed into
place, so a failure never leaves a half-written version.
"""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..charts import confusion_matrix_svg, training_curve_svg
from .encoder import quiet_transformers

METRICS_FILE = "metrics.json"
CONFIG_FILE = "training_config.json"
CARD_FILE = "MODEL_CARD.md"
CURVE_FILE = "training_curve.svg"
MATRIX_FILE = "confusion_matrix.svg"
DEFAULT_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_ENCODER_NOTE = " (6 layers, 384 hidden units, 22 M parameters)"


def _pct(value: float) -> str:
    return f"{value * 100:.1f} %"


def _metrics_table(metrics: dict[str, Any], labels: list[str]) -> list[str]:
    lines = ["| label | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    for label in labels:
        m = metrics["per_label"][label]
        lines.append(f"| {label} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |")
    lines.append(f"| **macro average** |  |  | {metrics['macro_f1']:.3f} | {metrics['eval_examples']} |")
    return lines


def model_card_markdown(
    *,
    slug: str,
    name: str,
    labels: list[str],
    base_encoder: str,
    max_length: int,
    training_data: dict[str, Any],
    hyperparameters: dict[str, Any],
    metrics: dict[str, Any],
    run: dict[str, Any],
) -> str:
    """The generated model card: use, labels, data, settings, metrics, limitations."""
    title = name or slug
    test = metrics.get("test")
    headline = f"{_pct(metrics['accuracy'])} accuracy on the eval set"
    if test:
        headline += f", {_pct(test['accuracy'])} on the test set"
    lines = [
        f"# {title}",
        "",
        f"`{slug}` classifies a short text into one of {len(labels)} labels: "
        + ", ".join(f"`{label}`" for label in labels)
        + f". {headline}.",
        "",
        "## Intended use",
        "",
        "Routing, tagging and analytics on short texts like the training data (a sentence or a short "
        "paragraph). Check a sample of its answers on your own data before relying on it, and keep a "
        "person in the loop for decisions that matter to someone.",
        "",
        "## Labels",
        "",
        *[f"{i}. `{label}`" for i, label in enumerate(labels)],
        "",
        "## Training data",
        "",
        "| split | source | examples | per label |",
        "|---|---|---:|---|",
    ]
    for role, described in training_data.items():
        counts = ", ".join(f"{k}: {v}" for k, v in described["label_counts"].items())
        lines.append(f"| {role} | {described['path']} | {described['examples']} | {counts} |")
    lines += [
        "",
        "## Training",
        "",
        f"Fine-tuned from `{base_encoder}`{DEFAULT_ENCODER_NOTE if base_encoder == DEFAULT_ENCODER else ''} with "
        f"a classification head; inputs are truncated to {max_length} tokens.",
        "",
        "| setting | value |",
        "|---|---|",
    ]
    shown: tuple[str, ...] = ("epochs", "batch_size", "lr", "weight_decay", "warmup_ratio", "max_length")
    shown += ("eval_every", "patience", "freeze_embeddings", "max_minutes", "max_train_examples", "seed", "device")
    lines += [f"| {key} | {hyperparameters.get(key)} |" for key in shown if key in hyperparameters]
    lines += [
        "",
        f"Ran {run['steps']} of {run['total_steps']} steps ({run['examples_seen']} examples) in "
        f"{run['train_seconds']:.0f} s on {run['device']}; stopped: {run['stopped']}; the weights kept are those "
        f"of step {run['best_step']}, the best on the eval set.",
        "",
        "## Metrics",
        "",
        f"Eval set: accuracy {_pct(metrics['accuracy'])}, macro-F1 {metrics['macro_f1']:.3f} "
        f"({metrics['eval_examples']} examples).",
        "",
        *_metrics_table(metrics, labels),
    ]
    if test:
        lines += [
            "",
            f"Test set: accuracy {_pct(test['accuracy'])}, macro-F1 {test['macro_f1']:.3f} "
            f"({test['eval_examples']} examples).",
            "",
            *_metrics_table(test, labels),
        ]
    lines += [
        "",
        "## Limitations",
        "",
        "- It knows only the labels above: every input gets one of them, even text that fits none.",
        "- It learned from the data described here. Text unlike it (other domains, long documents, "
        "sarcasm, mixed sentiment, slang) is answered less reliably; the scores are not calibrated "
        "probabilities.",
        f"- Text beyond {max_length} tokens is cut off; the API reports when that happened.",
        "- The base encoder was trained mostly on English; other languages work less well.",
        "- Biases in the training data carry over into its answers.",
        "",
    ]
    return "\n".join(lines)


def artifact_stage(
    *,
    parent: Path,
    model: Any,
    tokenizer: Any,
    metrics: dict[str, Any],
    training_config: dict[str, Any],
    model_card: str,
    labels: list[str],
    title: str,
) -> Path:
    """Write a complete version into a fresh staging directory under ``parent``; return it."""
    parent.mkdir(parents=True, exist_ok=True)
    staging = parent / f".staging-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        with quiet_transformers():
            model.save_pretrained(staging)
            tokenizer.save_pretrained(staging)
        _write_json(staging / METRICS_FILE, metrics)
        _write_json(staging / CONFIG_FILE, {**training_config, "created_at": datetime.now(UTC).isoformat()})
        (staging / CURVE_FILE).write_text(
            training_curve_svg(metrics.get("history", []), title=f"{title}: training curve"), encoding="utf-8"
        )
        (staging / MATRIX_FILE).write_text(
            confusion_matrix_svg(metrics["confusion_matrix"], labels, title=f"{title}: confusion matrix (eval set)"),
            encoding="utf-8",
        )
        (staging / CARD_FILE).write_text(model_card, encoding="utf-8")
        # safetensors writes its file private (0600); give every file the mode the others got.
        mode = (staging / CARD_FILE).stat().st_mode & 0o777
        for path in staging.iterdir():
            path.chmod(mode)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def artifact_commit(staging: Path, final: Path) -> None:
    """Rename ``staging`` to ``final``; a leftover ``final`` (no version row) is moved aside."""
    if final.exists():
        final.rename(final.with_name(f".orphan-{final.name}-{uuid.uuid4().hex[:8]}"))
    staging.rename(final)


def artifact_discard(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
