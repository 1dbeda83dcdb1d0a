"""Fine-tuning text classifiers: data checks, training, evaluation, artifacts.

``config`` and ``data`` are cheap to import (no torch), so settings and files are checked
before a model is ever loaded; ``encoder``, ``trainer``, ``evaluate`` and ``artifacts``
need torch.
The whole flow (check, train, write, register) is ``apps.mlmodels.services.classifier_train``.
"""

from .config import DataError, TrainingConfig

__all__ = ["DataError", "TrainingConfig"]
