"""The settings of one fine-tuning run, shared by the command, the admin form and the demo.

Importing this module is cheap (no torch): services validate a run's parameters with it
before anything is queued.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SLUG_RE = re.compile(r"^[-a-z0-9_]{1,60}$")
DEVICES = ("auto", "cpu", "cuda")


class DataError(ValueError):
    """Bad training input or settings, stated for the person who gave them.

    Raised before any model is loaded and before anything is written.
    """


@dataclass
class TrainingConfig:
    slug: str
    train_path: str
    eval_path: str | None = None
    test_path: str | None = None
    name: str = ""
    description: str = ""
    labels: list[str] | None = None
    text_column: str | None = None
    label_column: str | None = None
    epochs: int = 3
    batch_size: int = 32
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    max_train_examples: int | None = None
    # Periodic evaluation (early stopping) runs on a stratified subset of at most this many
    # eval examples, so it does not dominate the run; the final metrics use the whole set.
    eval_subset: int = 1000
    eval_every: int | None = None
    eval_fraction: float = 0.1
    patience: int = 3
    # Keep the pretrained word embeddings (12 M of the 22 M parameters) as they are: half
    # the optimiser work, and small data sets keep the encoder's sense of unseen words.
    freeze_embeddings: bool = False
    max_minutes: float | None = None
    max_length: int = 128
    seed: int = 42
    device: str = "auto"
    num_threads: int = 0
    publish: bool = False
    base_encoder: str | None = None
    example_inputs: list[str] = field(default_factory=list)

    def validate(self) -> None:
        """Raise ``DataError`` naming the first setting that is out of range."""
        if not SLUG_RE.match(self.slug or ""):
            raise DataError(f"--slug {self.slug!r}: use 1-60 lowercase letters, digits, '-' or '_'")
        if not self.train_path:
            raise DataError("--train is required")
        checks: list[tuple[bool, str]] = [
            (self.epochs >= 1, "--epochs must be at least 1"),
            (1 <= self.batch_size <= 4096, "--batch-size must be between 1 and 4096"),
            (0 < self.lr < 1, "--lr must be between 0 and 1"),
            (0 <= self.weight_decay < 1, "weight decay must be between 0 and 1"),
            (0 <= self.warmup_ratio < 1, "warm-up ratio must be between 0 and 1"),
            (self.max_train_examples is None or self.max_train_examples >= 2, "--max-train-examples must be >= 2"),
            (self.eval_subset >= 1, "the eval subset must hold at least 1 example"),
            (self.eval_every is None or self.eval_every >= 1, "--eval-every must be at least 1"),
            (0 < self.eval_fraction < 1, "the held-out fraction must be between 0 and 1"),
            (self.patience >= 1, "--patience must be at least 1"),
            (self.max_minutes is None or self.max_minutes > 0, "--max-minutes must be positive"),
            (8 <= self.max_length <= 512, "--max-length must be between 8 and 512"),
            (self.device in DEVICES, f"--device must be one of {', '.join(DEVICES)}"),
            (self.num_threads >= 0, "the thread count must be >= 0"),
            (len(self.name) <= 100, "--name is longer than 100 characters"),
        ]
        for ok, message in checks:
            if not ok:
                raise DataError(message)
        if self.labels is not None:
            if len(self.labels) < 2:
                raise DataError("--labels needs at least two names")
            if any(not label.strip() for label in self.labels):
                raise DataError("--labels contains an empty name")
            if len(set(self.labels)) != len(self.labels):
                raise DataError("--labels contains a name twice")

    def to_params(self) -> dict[str, Any]:
        """A JSON-ready dict that ``from_params`` turns back into the same config."""
        return dataclasses.asdict(self)

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> TrainingConfig:
        """Build and validate a config from JSON parameters; raise ``DataError`` if unfit."""
        if not isinstance(params, dict):
            raise DataError("training parameters must be an object")
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise DataError(f"unknown training parameter(s): {', '.join(unknown)}")
        for required in ("slug", "train_path"):
            if not params.get(required):
                raise DataError(f"the training parameter {required!r} is required")
        values: dict[str, Any] = {}
        for key, value in params.items():
            values[key] = _coerce(key, value, known[key].type)
        config = cls(**values)
        config.validate()
        return config


def _as_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError
    return list(value)


def _as_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError
    return value


def _as_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or float(value) != int(value):
        raise TypeError
    return int(value)


def _as_float(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError
    return float(value)


def _as_str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError
    return value


# By the start of the field's annotation; anything else is text.
_COERCERS: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("list", _as_list),
    ("bool", _as_bool),
    ("int", _as_int),
    ("float", _as_float),
)


def _coerce(key: str, value: Any, annotation: Any) -> Any:
    kind = str(annotation)
    if value is None:
        if "None" in kind:
            return None
        raise DataError(f"the training parameter {key!r} cannot be empty")
    coerce = next((function for prefix, function in _COERCERS if kind.startswith(prefix)), _as_str)
    try:
        return coerce(value)
    except (TypeError, ValueError):
        raise DataError(f"the training parameter {key!r} has the wrong type: {value!r}") from None
