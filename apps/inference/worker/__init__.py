"""The inference worker: messages in, results out, with no database.

A flush of the batched task (``tasks.classify``) hands over up to ``INFERENCE_BATCH_SIZE``
requests; ``flush.process`` groups them by model version, runs each group in as few
forward passes as its size allows and publishes the outcomes: to the result backend for
callers waiting on the job, and to the recording task on the default queue, which writes
the job rows.

The per-process state (loaded models, their timing, reports not yet sent) lives in one
``WorkerState``, owned by the batching task class (``batching.InferenceBatches.data``).

- ``jobs``: a job as the worker sees it, its outcome message, delivery counting.
- ``flush``: one flush, from deduplication to published outcomes.
- ``reports``: outcomes gathered into one message for the recording task.
- ``state``: the per-process state and warm-up from the published manifest.
- ``limits``: the flush's soft and hard time limits.
- ``config``: settings the worker refuses to start with.
"""

from .config import WorkerConfigError, check_worker_config
from .flush import Limits, process
from .jobs import Job
from .limits import FlushDeadline
from .state import WorkerState

__all__ = ["FlushDeadline", "Job", "Limits", "WorkerConfigError", "WorkerState", "check_worker_config", "process"]
