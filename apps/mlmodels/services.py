"""Writes on the model registry: versions and their life cycle, training runs.

Life cycle of a version: draft -> published -> deprecated -> retired (a published version
may also be retired at once). Every other move raises ``InvalidTransition``.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from .models import MLModel, ModelVersion, TrainingRun, TrainingStatus, VersionStatus
from .training.config import DataError, TrainingConfig

if TYPE_CHECKING:
    from apps.accounts.models import User

logger = logging.getLogger(__name__)

# Seconds between progress writes on a training run's row.
PROGRESS_INTERVAL = 2.0
LOG_LINES_KEPT = 300


class InvalidTransition(ValidationError):
    """A status change the version life cycle does not allow."""


class LabelsMismatch(ValidationError):
    """New version labels that differ from the model's (clients rely on a model's labels)."""


TRANSITIONS: dict[str, tuple[tuple[str, ...], str, str | None]] = {
    # action: (allowed from, to, timestamp field)
    "publish": ((VersionStatus.DRAFT,), VersionStatus.PUBLISHED, "published_at"),
    "deprecate": ((VersionStatus.PUBLISHED,), VersionStatus.DEPRECATED, "deprecated_at"),
    "retire": ((VersionStatus.PUBLISHED, VersionStatus.DEPRECATED), VersionStatus.RETIRED, "retired_at"),
}


def model_labels_check(*, slug: str, labels: list[str]) -> None:
    """Raise ``LabelsMismatch`` when a model ``slug`` exists with other labels (or order)."""
    existing = MLModel.objects.filter(slug=slug).values_list("labels", flat=True).first()
    if existing is not None and list(existing) != list(labels):
        raise LabelsMismatch(
            f"The model {slug!r} has the labels {existing}; a new version must have the same labels in the "
            f"same order, not {list(labels)}. Train under a new id instead."
        )


@transaction.atomic
def model_version_register(
    *,
    slug: str,
    name: str,
    labels: list[str],
    artifact_dir: str,
    base_encoder: str,
    max_length: int,
    training_data: dict[str, Any],
    hyperparameters: dict[str, Any],
    metrics: dict[str, Any],
    model_card: str,
    description: str = "",
    example_inputs: list[str] | None = None,
) -> ModelVersion:
    """Add a draft version (number = the model's highest + 1), creating the model if new.

    Raises ``LabelsMismatch`` when the model exists with other labels, ``ValidationError``
    for labels that are not at least two unique non-empty names.
    """
    labels = list(labels)
    names: list[object] = list(labels)  # parsed from files and JSON: check each item's type too
    if len(labels) < 2 or len(set(labels)) != len(labels) or not all(isinstance(x, str) and x for x in names):
        raise ValidationError(f"labels must be at least two unique, non-empty names, not {labels}")
    model = MLModel.objects.select_for_update().filter(slug=slug).first()
    if model is None:
        model = MLModel(slug=slug, name=name or slug, labels=labels, description=description)
        model.example_inputs = list(example_inputs or [])
        model.full_clean()
        model.save()
    else:
        model_labels_check(slug=slug, labels=labels)
        changed: list[str] = []
        if description and description != model.description:
            model.description, changed = description, [*changed, "description"]
        if example_inputs and list(example_inputs) != model.example_inputs:
            model.example_inputs, changed = list(example_inputs), [*changed, "example_inputs"]
        if changed:
            model.save(update_fields=[*changed, "updated_at"])
    number = (model.versions.aggregate(top=Max("version"))["top"] or 0) + 1
    return ModelVersion.objects.create(
        model=model,
        version=number,
        status=VersionStatus.DRAFT,
        artifact_dir=artifact_dir,
        base_encoder=base_encoder,
        max_length=max_length,
        training_data=training_data,
        hyperparameters=hyperparameters,
        metrics=metrics,
        model_card=model_card,
    )


def model_version_next_number(*, slug: str) -> int:
    """The number the next registered version of ``slug`` gets (lock the model first)."""
    top = ModelVersion.objects.filter(model__slug=slug).aggregate(top=Max("version"))["top"]
    return (top or 0) + 1


@transaction.atomic
def _transition(version: ModelVersion, action: str, *, actor: User | None = None) -> ModelVersion:
    allowed, target, stamp = TRANSITIONS[action]
    current = ModelVersion.objects.select_for_update().get(pk=version.pk)
    if current.status not in allowed:
        raise InvalidTransition(
            f"{current} is {current.status}: only a {' or '.join(allowed)} version can be {target}.",
            code="invalid_transition",
        )
    previous = current.status
    current.status = target
    fields = ["status", "updated_at"]
    if stamp:
        setattr(current, stamp, timezone.now())
        fields.append(stamp)
    current.save(update_fields=fields)
    for field in fields:
        setattr(version, field, getattr(current, field))
    if actor is not None:
        from django.contrib.admin.models import CHANGE, LogEntry

        message = f"Status changed from {previous} to {target}."
        LogEntry.objects.log_actions(actor.pk, [current], CHANGE, change_message=message, single_object=True)
    # Workers without a database learn which versions to warm from this manifest.
    transaction.on_commit(_publish_manifest)
    return version


def _publish_manifest() -> None:
    from apps.inference.services import serving_manifest_publish

    serving_manifest_publish()


def model_version_publish(*, version: ModelVersion, actor: User | None = None) -> ModelVersion:
    """Draft -> published: it answers requests. Raises ``InvalidTransition`` otherwise.

    With ``actor`` (a staff member), the move is recorded in the admin's history of the
    version; so are deprecating and retiring.
    """
    return _transition(version, "publish", actor=actor)


def model_version_deprecate(*, version: ModelVersion, actor: User | None = None) -> ModelVersion:
    """Published -> deprecated: it still answers, with a warning."""
    return _transition(version, "deprecate", actor=actor)


def model_version_retire(*, version: ModelVersion, actor: User | None = None) -> ModelVersion:
    """Published or deprecated -> retired: it refuses requests with a clear error."""
    return _transition(version, "retire", actor=actor)


def model_version_quantize(
    *, version: ModelVersion, data_path: str | None = None, log: LogFn | None = None, sentences: int | None = None
) -> ModelVersion:
    """Build ``version``'s int8 variant, measure it against fp32 (``quantization``) and
    store the figures in ``version.variants["int8"]``, replacing earlier ones.

    Workers serve the variant only when ``ModelVersion.int8_eligible``; a serving version's
    manifest is published again on commit, so warm workers reload it. Raises ``DataError``
    (nothing written) when no evaluation data is known (give ``data_path``) or it is unfit.
    Takes seconds to a minute on a CPU; ``log`` hears each step.
    """
    from .quantization import THROUGHPUT_SENTENCES, evaluation_set, int8_measure

    evaluation = evaluation_set(version=version, data_path=data_path)
    figures = int8_measure(version=version, evaluation=evaluation, sentences=sentences or THROUGHPUT_SENTENCES, log=log)
    with transaction.atomic():
        current = ModelVersion.objects.select_for_update().get(pk=version.pk)
        current.variants = {**(current.variants or {}), "int8": figures}
        current.save(update_fields=["variants", "updated_at"])  # the save drops the queue's copies
        if current.is_serving:
            transaction.on_commit(_publish_manifest)
    version.variants, version.updated_at = current.variants, current.updated_at
    return version


def model_version_quantize_start(*, version: ModelVersion, actor: User) -> None:
    """Queue ``model_version_quantize`` for ``version`` on the training queue (after
    commit) and record who asked in the admin's history of the version.

    Raises ``ValidationError`` (nothing queued or recorded) when no evaluation data is
    known for the version.
    """
    from django.contrib.admin.models import CHANGE, LogEntry

    from .quantization import evaluation_set
    from .tasks import quantize as quantize_task

    try:
        evaluation = evaluation_set(version=version)
    except DataError as exc:
        raise ValidationError(str(exc), code="no_evaluation_data") from None
    message = f"Queued an int8 variant build, measured on {evaluation.source}."
    LogEntry.objects.log_actions(actor.pk, [version], CHANGE, change_message=message, single_object=True)
    version_id = version.pk
    transaction.on_commit(lambda: quantize_task.delay(version_id))


ProgressFn = Callable[[float, str], None]
LogFn = Callable[[str], None]


def _display_path(path: str) -> str:
    """A path as shown in model cards: relative to the repository's parent when below it."""
    resolved = Path(path).resolve()
    base = Path(settings.BASE_DIR).resolve()
    for root, prefix in ((base, ""), (base.parent, "../")):
        if resolved.is_relative_to(root):
            return prefix + str(resolved.relative_to(root))
    return str(resolved)


def training_data_check(*, config: TrainingConfig) -> Any:
    """Check the settings, the files and the labels of a run; return the prepared data.

    Raises ``DataError`` (settings, files) or ``LabelsMismatch``; loads no model, writes nothing.
    """
    from .training.data import prepare_data

    config.validate()
    paths = {"train": config.train_path, "eval": config.eval_path, "test": config.test_path}
    data = prepare_data(
        train_path=config.train_path,
        eval_path=config.eval_path,
        test_path=config.test_path,
        labels=config.labels,
        text_column=config.text_column,
        label_column=config.label_column,
        max_train_examples=config.max_train_examples,
        eval_fraction=config.eval_fraction,
        seed=config.seed,
        display={role: _display_path(path) for role, path in paths.items() if path},
    )
    model_labels_check(slug=config.slug, labels=data.labels)
    return data


def classifier_train(
    *, config: TrainingConfig, progress: ProgressFn | None = None, log: LogFn | None = None, progress_bar: bool = False
) -> ModelVersion:
    """Check the data, fine-tune, write the artifact and register a draft version.

    Publishes it too when ``config.publish``. Raises ``DataError`` or ``LabelsMismatch``
    before any model is loaded when the input is unfit; a failure later leaves no artifact
    directory and no version behind.
    """
    from .training import artifacts
    from .training.trainer import train

    data = training_data_check(config=config)
    outcome = train(config, data, progress=progress, log=log, progress_bar=progress_bar)
    base_encoder = config.base_encoder or artifacts.DEFAULT_ENCODER
    hyperparameters = {
        **{k: v for k, v in asdict(config).items() if k not in {"example_inputs", "description", "name"}},
        "base_encoder": base_encoder,
        "device": outcome.device,
        "total_steps": outcome.total_steps,
        "warmup_steps": outcome.warmup_steps,
        "eval_every": outcome.eval_every,
    }
    run = {
        "device": outcome.device,
        "steps": outcome.steps,
        "total_steps": outcome.total_steps,
        "best_step": outcome.best_step,
        "stopped": outcome.stopped,
        "train_seconds": round(outcome.train_seconds, 1),
        "examples_seen": outcome.examples_seen,
        "truncated": outcome.truncated,
    }
    training_data = data.describe()
    card = artifacts.model_card_markdown(
        slug=config.slug,
        name=config.name,
        labels=data.labels,
        base_encoder=base_encoder,
        max_length=config.max_length,
        training_data=training_data,
        hyperparameters=hyperparameters,
        metrics=outcome.metrics,
        run=run,
    )
    training_config = {
        "slug": config.slug,
        "labels": data.labels,
        "max_length": config.max_length,
        "base_encoder": base_encoder,
        "hyperparameters": hyperparameters,
        "training_data": training_data,
        "run": run,
    }
    parent = Path(settings.MODEL_ARTIFACTS_DIR) / config.slug
    staging = artifacts.artifact_stage(
        parent=parent,
        model=outcome.model,
        tokenizer=outcome.tokenizer,
        metrics=outcome.metrics,
        training_config=training_config,
        model_card=card,
        labels=data.labels,
        title=config.name or config.slug,
    )
    final: Path | None = None
    try:
        with transaction.atomic():
            MLModel.objects.select_for_update().filter(slug=config.slug).first()
            number = model_version_next_number(slug=config.slug)
            final = parent / f"v{number}"
            artifacts.artifact_commit(staging, final)
            version = model_version_register(
                slug=config.slug,
                name=config.name,
                labels=data.labels,
                artifact_dir=f"{config.slug}/v{number}",
                base_encoder=base_encoder,
                max_length=config.max_length,
                training_data=training_data,
                hyperparameters=hyperparameters,
                metrics=outcome.metrics,
                model_card=card,
                description=config.description,
                example_inputs=config.example_inputs or None,
            )
            if version.version != number:  # pragma: no cover - guarded by the lock above
                raise RuntimeError(f"version number race: expected v{number}, got v{version.version}")
            if config.publish:
                model_version_publish(version=version)
    except BaseException:
        artifacts.artifact_discard(final if final is not None and final.exists() else staging)
        raise
    return version


def training_run_start(*, params: dict[str, Any], actor: User) -> TrainingRun:
    """Check a run's parameters and data files, record it as queued, enqueue it on commit.

    Raises ``ValidationError`` (nothing recorded, nothing queued) when the parameters or
    the files are unfit. Relative paths are taken from the repository root.
    """
    try:
        config = TrainingConfig.from_params(params)
        for attr in ("train_path", "eval_path", "test_path"):
            value = getattr(config, attr)
            if value and not Path(value).is_absolute():
                setattr(config, attr, str((Path(settings.BASE_DIR) / value).resolve()))
        training_data_check(config=config)
    except DataError as exc:
        raise ValidationError(str(exc), code="invalid_training_input") from None
    run = TrainingRun.objects.create(
        slug=config.slug,
        params=config.to_params(),
        status=TrainingStatus.QUEUED,
        message="queued",
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    from .tasks import train as train_task

    transaction.on_commit(lambda: train_task.delay(str(run.id)))
    return run


def training_run_execute(*, run_id: str) -> TrainingRun | None:
    """Run a queued training run to the end, recording progress, the version or the error.

    Returns ``None`` when the run is not queued (a redelivered message does nothing).
    Failures are recorded on the row (status failed, a clear message, the traceback in the
    log) and not raised: a failed run is final, never retried.
    """
    started = timezone.now()
    claimed = TrainingRun.objects.filter(id=run_id, status=TrainingStatus.QUEUED).update(
        status=TrainingStatus.RUNNING, started_at=started, progress=0.0, message="starting"
    )
    if not claimed:
        return None
    run = TrainingRun.objects.get(id=run_id)
    lines: list[str] = []
    last_write = 0.0

    def write(**fields: Any) -> None:
        TrainingRun.objects.filter(id=run_id).update(**fields, log="\n".join(lines[-LOG_LINES_KEPT:]))

    def log(message: str) -> None:
        lines.append(f"{timezone.now():%H:%M:%S} {message}")

    def progress(fraction: float, message: str) -> None:
        nonlocal last_write
        now = time.monotonic()
        if now - last_write >= PROGRESS_INTERVAL:
            last_write = now
            write(progress=min(max(fraction, 0.0), 1.0), message=message[:300])

    try:
        config = TrainingConfig.from_params(run.params)
        config.num_threads = config.num_threads or settings.TORCH_NUM_THREADS
        version = classifier_train(config=config, progress=progress, log=log)
    except Exception as exc:  # every failure is recorded on the run, never retried
        reason = str(exc) if isinstance(exc, DataError | ValidationError) else f"{type(exc).__name__}: {exc}"
        if isinstance(exc, ValidationError):
            reason = " ".join(exc.messages)
        logger.warning("training run %s failed: %s", run_id, reason)
        lines.append(traceback.format_exc())
        write(status=TrainingStatus.FAILED, message=f"failed: {reason}"[:300], finished_at=timezone.now())
    else:
        log(f"registered {version} ({version.status})")
        write(
            status=TrainingStatus.SUCCEEDED,
            progress=1.0,
            version=version,
            message=f"registered {version} ({version.status}), eval accuracy {version.metrics['accuracy']:.3f}",
            finished_at=timezone.now(),
        )
    run.refresh_from_db()
    return run
