"""What one inference worker process holds between flushes.

One ``WorkerState`` per process, owned by the batching task class
(``batching.InferenceBatches.data``); a test builds its own. torch is imported only
when the first model loads, so importing this module costs nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache

from ..results import MANIFEST_KEY
from .jobs import Job
from .reports import Reports

if TYPE_CHECKING:
    from apps.mlmodels.runtime import Classifier, ClassifierCache

logger = logging.getLogger(__name__)


def artifact_path(artifact_dir: str) -> Path:
    path = Path(artifact_dir)
    return path if path.is_absolute() else Path(settings.MODEL_ARTIFACTS_DIR) / path


def _short(path: str) -> str:
    return f"{Path(path).parent.name}/{Path(path).name}"


class WorkerState:
    """Loaded models, how fast each runs here, and the reports not yet sent."""

    def __init__(self) -> None:
        self._classifiers: ClassifierCache | None = None
        # Milliseconds of forward pass per input character, per model version (a moving
        # average of this worker's own passes).
        self.ms_per_char: dict[Any, float] = {}
        self.reports = Reports()

    @property
    def classifiers(self) -> ClassifierCache:
        if self._classifiers is None:
            from apps.mlmodels.runtime import ClassifierCache, configure_threads, resolve_device

            configure_threads(settings.TORCH_NUM_THREADS)
            self._classifiers = ClassifierCache(
                settings.INFERENCE_MODEL_CACHE_SIZE,
                device=resolve_device(settings.INFERENCE_DEVICE),
                quantized=settings.INFERENCE_QUANTIZED,
            )
        return self._classifiers

    def classifier(self, model: dict[str, Any]) -> Classifier:
        """The loaded classifier of a model version message (loads it on first use): its
        int8 variant when the message says the version's may serve (``"int8"``, absent
        from older messages) and this worker allows it (``runtime.serving_variant``)."""
        return self.classifiers.get(
            artifact_path(model["artifact_dir"]),
            max_length=model.get("max_length"),
            int8_eligible=bool(model.get("int8", False)),
        )

    def loaded(self) -> list[str]:
        """``slug/vN`` of each model in memory, for the heartbeat."""
        return sorted(_short(p) for p in self.classifiers.loaded())

    def info(self) -> dict[str, Any]:
        """Device, loaded models and those of them loaded as int8, for the heartbeat
        (nothing before the first model)."""
        if self._classifiers is None:
            return {}
        variants = self._classifiers.loaded_variants()
        int8 = sorted(_short(path) for path, variant in variants.items() if variant == "int8")
        return {"device": self._classifiers.device, "models": self.loaded(), "int8": int8}

    def expected_ms(self, jobs: list[Job]) -> float | None:
        """How long a group of one model version's jobs should take, or None if not yet known."""
        rate = self.ms_per_char.get(jobs[0].model["version_id"])
        return None if rate is None else rate * sum(len(text) for job in jobs for text in job.inputs)

    def learn(self, version_id: Any, texts: list[str], inference_ms: float) -> None:
        chars = sum(len(text) for text in texts)
        if chars:
            rate = inference_ms / chars
            old = self.ms_per_char.get(version_id)
            self.ms_per_char[version_id] = rate if old is None else 0.8 * old + 0.2 * rate

    def reports_running(self, batches: list[list[Job]], *, suspects: bool) -> bool:
        """Whether a flush marks its jobs running first: when it holds redelivered jobs, a
        model not yet timed here, or more work than ``INFERENCE_RUNNING_REPORT_MS``."""
        estimates = [self.expected_ms(batch) for batch in batches]
        if suspects or None in estimates:
            return True
        return sum(e for e in estimates if e is not None) > settings.INFERENCE_RUNNING_REPORT_MS

    def warm_up(self, manifest: list[dict[str, Any]] | None = None) -> list[str]:
        """Load the serving models before the first request; returns what was loaded.

        The manifest comes from the cache, where publishing a version writes it. Without
        one the worker loads each model on its first request; it never asks the database.
        """
        if manifest is None:
            manifest = cache.get(MANIFEST_KEY) or []
            if not manifest:
                logger.info("no serving manifest in the cache: models load on their first request")
        loaded = []
        self.classifiers  # noqa: B018 - the device is known (and shown) from now on
        for entry in manifest[: settings.INFERENCE_MODEL_CACHE_SIZE]:
            try:
                self.classifier(entry)
                loaded.append(f"{entry['slug']}/v{entry['version']}")
            except Exception:
                logger.warning("could not warm %s v%s", entry.get("slug"), entry.get("version"), exc_info=True)
        return loaded
