"""The demo's sentiment model, trained on first set-up from sentences the project wrote.

``python manage.py demo_setup`` calls ``load``: when no published version of
``sentiment-demo`` exists, it fine-tunes the bundled all-MiniLM-L6-v2 on
``demo_data/sentiment_demo.tsv`` (about 500 short sentences on software, APIs, docs,
support, films, books and restaurants, some in Simplified Chinese; labels ``negative``,
``positive``), holding out a stratified 15 % for evaluation, then registers and publishes
it. About a minute or two on 2 CPU cores; a second run does nothing.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.conf import settings

from .models import ModelVersion, VersionStatus
from .services import classifier_train
from .training.config import TrainingConfig

SLUG = "sentiment-demo"
DATA_FILE = Path(__file__).resolve().parent / "demo_data" / "sentiment_demo.tsv"
EXAMPLE_INPUTS = [
    "The new SDK is a joy to use and the docs are excellent.",
    "Support never answered and the API keeps timing out.",
    "Not bad at all, the upgrade went smoothly.",
    "这个接口很好用，文档也很清楚。",  # noqa: RUF001 (a Chinese comma in Chinese text)
]


def demo_config() -> TrainingConfig:
    """The settings of the demo run: small data, so several short epochs at a high rate."""
    return TrainingConfig(
        slug=SLUG,
        name="Sentiment (demo)",
        description="Positive or negative? A small demo model trained on the project's own sentences.",
        train_path=str(DATA_FILE),
        labels=["negative", "positive"],
        eval_fraction=0.15,
        epochs=6,
        batch_size=16,
        lr=1e-4,
        max_length=64,
        eval_every=13,
        patience=4,
        freeze_embeddings=True,
        max_minutes=5,
        seed=42,
        num_threads=settings.TORCH_NUM_THREADS,
        publish=True,
        example_inputs=EXAMPLE_INPUTS,
    )


def load(*, stdout: Any) -> None:
    """Train, register and publish ``sentiment-demo`` unless a published version exists."""
    if ModelVersion.objects.filter(model__slug=SLUG, status=VersionStatus.PUBLISHED).exists():
        stdout.write(f"Model {SLUG}: a published version exists; nothing to train.")
        return
    stdout.write(f"Model {SLUG}: training from {DATA_FILE.name} (a minute or two on 2 CPU cores)...")
    started = time.monotonic()
    shown = {"tenth": -1}

    def progress(fraction: float, message: str) -> None:
        tenth = int(fraction * 10)
        if tenth > shown["tenth"]:
            shown["tenth"] = tenth
            stdout.write(f"  {fraction:4.0%} {message} ({time.monotonic() - started:.0f} s)")

    version = classifier_train(config=demo_config(), progress=progress)
    stdout.write(
        f"Model {SLUG}: published v{version.version} in {time.monotonic() - started:.0f} s, "
        f"accuracy {version.metrics['accuracy']:.1%} on {version.metrics['eval_examples']} held-out sentences."
    )
