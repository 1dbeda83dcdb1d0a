"""Model fixtures shared by the suite: an artifact whose predictions are known exactly."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from apps.mlmodels.models import MLModel, ModelVersion, VersionStatus

LABELS = ["alpha", "beta", "gamma"]
# The head ignores its input: logits are exactly these biases, so every prediction is
# "beta" with known probabilities. A mix-up of label order or of the softmax axis shows.
BIASES = [0.0, 2.0, -1.0]
EXPECTED = dict(zip(LABELS, [math.exp(b) / sum(math.exp(x) for x in BIASES) for b in BIASES], strict=True))


def build_fixed_head_artifact(path: Path) -> Path:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from apps.mlmodels.runtime import base_encoder_path

    if (path / "config.json").exists():
        return path
    base = base_encoder_path()
    model = AutoModelForSequenceClassification.from_pretrained(
        base,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
        local_files_only=True,
    )
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor(BIASES))
    tmp = path.with_name(path.name + ".tmp")
    model.save_pretrained(tmp)
    AutoTokenizer.from_pretrained(base, local_files_only=True).save_pretrained(tmp)
    tmp.rename(path)
    return path


def make_version(
    artifact: Path, *, slug: str = "fixed-head", status: str = VersionStatus.PUBLISHED, version: int = 1
) -> ModelVersion:
    model, _ = MLModel.objects.get_or_create(
        slug=slug, defaults={"name": "Fixed head", "labels": LABELS, "description": "A test model."}
    )
    return ModelVersion.objects.create(
        model=model,
        version=version,
        status=status,
        artifact_dir=str(artifact),
        base_encoder="all-MiniLM-L6-v2",
        max_length=128,
    )


def succeeded_outcome(job_id: str, *, worker: str = "test@worker", **extra: Any) -> dict[str, Any]:
    """A succeeded outcome as an inference worker stores it for ``job_id``."""
    now = time.time()
    return {
        "job_id": job_id,
        "status": "succeeded",
        "worker": worker,
        "batch_size": 1,
        "attempt": 1,
        "started_at": now,
        "finished_at": now,
        "inference_ms": 2.5,
        "results": [{"label": "beta", "score": 0.6, "scores": {"alpha": 0.4, "beta": 0.6}, "truncated": False}],
        **extra,
    }


def int8_figures(loss: float) -> dict[str, Any]:
    """Stored int8 figures in the shape ``model_version_quantize`` writes, losing ``loss``
    accuracy points."""
    return {
        "accuracy": round(0.9 - loss / 100, 6),
        "accuracy_fp32": 0.9,
        "loss_points": loss,
        "agreement": 0.97,
        "eval_examples": 872,
        "eval_data": "../shared/data/sst2/test.tsv",
        "batch": 32,
        "sentences_per_s_fp32": 150.0,
        "sentences_per_s_int8": 315.0,
        "speedup_b32": 2.1,
        "torch": "2.13.0",
        "measured_at": "2026-12-01T12:00:00+00:00",
    }
