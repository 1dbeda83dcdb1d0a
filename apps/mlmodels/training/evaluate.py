"""Predictions and metrics for sequence classification.

Logits are shaped ``[batch, num_labels]``: every decision (argmax, softmax) is taken over
the label axis, ``dim=-1``, never over the batch. The metrics are small plain functions
(no scikit-learn) whose output is the ``ModelVersion.metrics`` shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .batching import eval_batches, pad_batch


def _check_logits(logits: torch.Tensor) -> None:
    if logits.ndim != 2:
        raise ValueError(f"logits must be shaped [batch, num_labels], got {tuple(logits.shape)}")


def predictions_from_logits(logits: torch.Tensor) -> list[int]:
    """The predicted label index of each example: argmax over the label axis."""
    _check_logits(logits)
    return logits.argmax(dim=-1).tolist()


def probabilities_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Softmax over the label axis: each row sums to 1."""
    _check_logits(logits)
    return torch.softmax(logits.float(), dim=-1)


@torch.inference_mode()
def predict_logits(
    model: Any, encoded: Sequence[Sequence[int]], *, pad_id: int, device: str, batch_size: int = 64
) -> torch.Tensor:
    """Logits for pre-tokenized examples, in input order, shaped ``[len(encoded), num_labels]``.

    Batches are cut from examples sorted by length, so padding stays small.
    """
    was_training = model.training
    model.eval()
    lengths = [len(ids) for ids in encoded]
    rows: list[torch.Tensor | None] = [None] * len(encoded)
    for batch in eval_batches(lengths, batch_size):
        input_ids, attention_mask = pad_batch([encoded[i] for i in batch], pad_id)
        logits = model(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device)).logits
        for index, row in zip(batch, logits.float().cpu(), strict=True):
            rows[index] = row
    if was_training:
        model.train()
    if not rows:
        return torch.empty((0, model.config.num_labels))
    return torch.stack(rows)  # type: ignore[arg-type]  # every slot is filled above


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], num_labels: int) -> list[list[int]]:
    """Counts with rows = true label and columns = predicted label."""
    matrix = [[0] * num_labels for _ in range(num_labels)]
    for truth, guess in zip(y_true, y_pred, strict=True):
        matrix[truth][guess] += 1
    return matrix


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1, per-label precision/recall/F1/support and the confusion matrix.

    A label never predicted has precision 0 (and never present, recall 0), as scikit-learn
    reports with ``zero_division=0``.
    """
    if len(y_true) != len(y_pred):
        raise ValueError("y_true and y_pred differ in length")
    matrix = confusion_matrix(y_true, y_pred, len(labels))
    total = len(y_true)
    correct = sum(matrix[i][i] for i in range(len(labels)))
    per_label: dict[str, dict[str, float | int]] = {}
    for i, label in enumerate(labels):
        true_positive = matrix[i][i]
        predicted = sum(row[i] for row in matrix)
        support = sum(matrix[i])
        precision = true_positive / predicted if predicted else 0.0
        recall = true_positive / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    return {
        "accuracy": correct / total if total else 0.0,
        "macro_f1": sum(m["f1"] for m in per_label.values()) / len(labels) if labels else 0.0,
        "per_label": per_label,
        "confusion_matrix": matrix,
        "eval_examples": total,
    }


def metrics_from_logits(logits: torch.Tensor, y_true: Sequence[int], labels: Sequence[str]) -> dict[str, Any]:
    return classification_metrics(y_true, predictions_from_logits(logits), labels)
