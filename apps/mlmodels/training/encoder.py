"""The base encoder a run fine-tunes: where it lives, on which device, loaded quietly.

Nothing is fetched from a hub: the offline flags are set before transformers is imported
and every load is local.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


from apps.mlmodels import runtime

from .config import DataError


def resolve_device(requested: str) -> str:
    """The inference runtime's rule, with the error a training command reports."""
    try:
        return runtime.resolve_device(requested)
    except RuntimeError:
        raise DataError(f"--device {requested} was asked for, but no CUDA device is visible") from None


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' own progress bars and notices (ours report progress)."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def load_base(path: Path, labels: list[str]) -> tuple[Any, Any]:
    """The tokenizer and a fresh classification head on the encoder at ``path`` (local only).

    The head's "newly initialised weights" notice is expected here and silenced.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    if not (path / "config.json").is_file():
        raise DataError(f"base encoder not found: {path} has no config.json")
    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(
            path,
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id={label: i for i, label in enumerate(labels)},
            local_files_only=True,
        )
    return model, tokenizer
