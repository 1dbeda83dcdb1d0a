"""Fine-tuning a sequence classifier on top of the base encoder.

AdamW with linear warm-up and decay, gradient clipping at 1.0, length-bucketed batches with
dynamic padding, fixed seeds, evaluation every N steps with early stopping on eval accuracy
(the best weights are kept), and a wall-clock budget. Called only after ``prepare_data``
has accepted the input, so a bad file never costs a model load.
"""

from __future__ import annotations

import contextlib
import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..runtime import base_encoder_path
from .batching import Encoded, encode, pad_batch, train_batches
from .config import TrainingConfig
from .data import LabeledSet, PreparedData, stratified_indices
from .encoder import load_base, resolve_device
from .evaluate import metrics_from_logits, predict_logits

if TYPE_CHECKING:
    from tqdm import tqdm

ProgressFn = Callable[[float, str], None]
LogFn = Callable[[str], None]

# Shares of the progress bar an outside observer sees: loading, training, final evaluation.
LOAD_SHARE, TRAIN_SHARE = 0.05, 0.85


@dataclass
class TrainOutcome:
    model: Any
    tokenizer: Any
    device: str
    metrics: dict[str, Any]
    steps: int
    total_steps: int
    warmup_steps: int
    eval_every: int
    best_step: int
    stopped: str
    train_seconds: float
    examples_seen: int
    truncated: dict[str, int] = field(default_factory=dict)


def _optimizer(model: Any, config: TrainingConfig) -> torch.optim.Optimizer:
    decay: list[torch.nn.Parameter] = []
    no_decay: list[torch.nn.Parameter] = []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        (no_decay if parameter.ndim < 2 or "LayerNorm" in name else decay).append(parameter)
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    # The fused kernel is the same AdamW update, about twice as fast on this CPU: with a
    # 22 M-parameter model the optimiser step otherwise costs as much as the backward pass.
    try:
        return torch.optim.AdamW(groups, lr=config.lr, fused=True)
    except (RuntimeError, ValueError):
        return torch.optim.AdamW(groups, lr=config.lr)


def _linear_schedule(optimizer: torch.optim.Optimizer, warmup: int, total: int) -> torch.optim.lr_scheduler.LambdaLR:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _no_progress(fraction: float, message: str) -> None:
    pass


def _no_log(message: str) -> None:
    pass


@dataclass(frozen=True)
class _Schedule:
    """The step counts of a run, fixed before its first step."""

    steps_per_epoch: int
    total_steps: int
    warmup_steps: int
    eval_every: int
    log_every: int

    @classmethod
    def plan(cls, examples: int, config: TrainingConfig) -> _Schedule:
        steps_per_epoch = math.ceil(examples / config.batch_size)
        total_steps = steps_per_epoch * config.epochs
        eval_every = config.eval_every or max(10, math.ceil(total_steps / 10))
        return cls(
            steps_per_epoch=steps_per_epoch,
            total_steps=total_steps,
            warmup_steps=max(1, round(total_steps * config.warmup_ratio)),
            eval_every=eval_every,
            log_every=max(1, min(eval_every, math.ceil(total_steps / 60))),
        )


@dataclass(frozen=True)
class _Inputs:
    """The run's texts, tokenized once: the training set, the eval set and its periodic subset."""

    train: Encoded
    lengths: list[int]
    labels: torch.Tensor
    eval: Encoded
    subset_ids: list[list[int]]
    subset_labels: list[int]

    @classmethod
    def encode(cls, tokenizer: Any, data: PreparedData, config: TrainingConfig, rng: random.Random) -> _Inputs:
        train = encode(tokenizer, data.train.texts, config.max_length)
        evaluation = encode(tokenizer, data.eval.texts, config.max_length)
        subset = sorted(stratified_indices(data.eval.label_ids, config.eval_subset, rng))
        return cls(
            train=train,
            lengths=[len(ids) for ids in train.ids],
            labels=torch.tensor(data.train.label_ids, dtype=torch.long),
            eval=evaluation,
            subset_ids=[evaluation.ids[i] for i in subset],
            subset_labels=[data.eval.label_ids[i] for i in subset],
        )


@dataclass
class _Window:
    """Training loss and accuracy over the steps since the last point of the history."""

    loss: float = 0.0
    steps: int = 0
    correct: int = 0
    seen: int = 0

    def add(self, *, loss: float, correct: int, examples: int) -> None:
        self.loss += loss
        self.steps += 1
        self.correct += correct
        self.seen += examples

    @property
    def train_loss(self) -> float:
        return self.loss / max(1, self.steps)

    @property
    def train_accuracy(self) -> float:
        return self.correct / max(1, self.seen)


@dataclass
class _Best:
    """The weights best on the eval subset so far (a copy on the CPU) and the patience count."""

    accuracy: float = -1.0
    loss: float = math.inf
    step: int = 0
    state: dict[str, torch.Tensor] | None = None
    evals_without_gain: int = 0

    def offer(self, *, accuracy: float, loss: float, step: int, model: Any) -> None:
        """Keep ``model``'s weights if they beat the best so far, else count an evaluation without gain."""
        # Ties on accuracy go to the lower eval loss: the better-trained of equal checkpoints.
        if accuracy > self.accuracy or (accuracy == self.accuracy and loss < self.loss):
            self.accuracy, self.loss, self.step = accuracy, loss, step
            self.state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            self.evals_without_gain = 0
        else:
            self.evals_without_gain += 1

    def restore(self, model: Any) -> None:
        assert self.state is not None  # the loop evaluates at least once
        model.load_state_dict(self.state)


class _FineTuningRun:
    """One run of ``train``: the loaded model, its optimiser, and the loop's counters and history.

    ``prepare`` loads the encoder and tokenizes, ``fit`` runs the loop (evaluating every
    ``eval_every`` steps, keeping the best weights, stopping early or on the time budget) and
    ``finish`` restores the best weights and evaluates them on the whole eval and test sets.
    """

    def __init__(
        self,
        config: TrainingConfig,
        data: PreparedData,
        *,
        model: Any,
        tokenizer: Any,
        device: str,
        inputs: _Inputs,
        schedule: _Schedule,
        rng: random.Random,
        started: float,
        report: ProgressFn,
        say: LogFn,
    ) -> None:
        self.config, self.data = config, data
        self.model, self.tokenizer, self.device = model, tokenizer, device
        self.pad_id: int = tokenizer.pad_token_id or 0
        self.inputs, self.schedule, self.rng = inputs, schedule, rng
        self.report, self.say = report, say
        self.started = started
        self.deadline = started + config.max_minutes * 60 if config.max_minutes else math.inf
        self.optimizer = _optimizer(model, config)
        self.scheduler = _linear_schedule(self.optimizer, schedule.warmup_steps, schedule.total_steps)
        self.autocast: contextlib.AbstractContextManager[Any] = (
            torch.autocast(device_type="cuda", dtype=torch.bfloat16)
            if device.startswith("cuda")
            else contextlib.nullcontext()
        )
        self.truncated = {"train": inputs.train.truncated, "eval": inputs.eval.truncated}
        self.step, self.seen, self.last_eval_step = 0, 0, -1
        self.stopped = "completed"
        self.history: list[dict[str, Any]] = []
        self.window = _Window()
        self.best = _Best()

    @classmethod
    def prepare(
        cls, config: TrainingConfig, data: PreparedData, *, started: float, report: ProgressFn, say: LogFn
    ) -> _FineTuningRun:
        """Seed, load the base encoder with a fresh head and tokenize; raise ``DataError`` if unfit."""
        device = resolve_device(config.device)
        if config.num_threads > 0:
            torch.set_num_threads(config.num_threads)
        random.seed(config.seed)
        torch.manual_seed(config.seed)
        report(0.0, "loading the base encoder")
        model, tokenizer = load_base(
            Path(config.base_encoder) if config.base_encoder else base_encoder_path(), data.labels
        )
        tokenizer.model_max_length = config.max_length
        if config.freeze_embeddings:
            model.get_input_embeddings().weight.requires_grad_(False)
        model.to(device)
        rng = random.Random(config.seed)  # noqa: S311 (seeded for reproducible batches, not for secrets)
        inputs = _Inputs.encode(tokenizer, data, config, rng)
        schedule = _Schedule.plan(len(inputs.lengths), config)
        run = cls(
            config, data, model=model, tokenizer=tokenizer, device=device, inputs=inputs, schedule=schedule,
            rng=rng, started=started, report=report, say=say,
        )  # fmt: skip
        say(
            f"{len(data.train)} training examples, {len(data.eval)} eval ({len(inputs.subset_ids)} for periodic "
            f"checks), {schedule.total_steps} steps on {device}, evaluating every {schedule.eval_every}"
        )
        report(LOAD_SHARE, "training")
        return run

    def fit(self, *, progress_bar: bool) -> None:
        """Train until the epochs are done, patience runs out or the time budget is spent.

        The last step is always evaluated, so the best weights are known.
        """
        from tqdm import tqdm

        bar = tqdm(
            total=self.schedule.total_steps, disable=not progress_bar, unit="step", dynamic_ncols=True, file=sys.stderr
        )
        self.model.train()
        try:
            for epoch in range(self.config.epochs):
                if not self._run_epoch(epoch, bar):
                    break
            if self.step and self.last_eval_step != self.step:
                self._record(bar, with_eval=True)
        finally:
            bar.close()

    def _run_epoch(self, epoch: int, bar: tqdm) -> bool:
        """One pass over the training set; False when the run stops before its end."""
        for batch in train_batches(self.inputs.lengths, self.config.batch_size, self.rng):
            # At least one step and one evaluation, so even a tiny budget keeps a model.
            if self.step and time.monotonic() >= self.deadline:
                self.stopped = "time budget"
                return False
            self._train_step(batch)
            bar.update(1)
            if self.step % self.schedule.eval_every == 0 or self.step == self.schedule.total_steps:
                self._record(bar, with_eval=True)
                if self.best.evals_without_gain >= self.config.patience:
                    self.stopped = "early stopping"
                    return False
            elif self.step % self.schedule.log_every == 0:
                self._record(bar, with_eval=False)
            self.report(
                LOAD_SHARE + TRAIN_SHARE * self.step / self.schedule.total_steps,
                f"epoch {epoch + 1}/{self.config.epochs}, step {self.step}/{self.schedule.total_steps}, "
                f"best eval accuracy {max(self.best.accuracy, 0):.3f}",
            )
        return True

    def _train_step(self, batch: list[int]) -> None:
        input_ids, attention_mask = pad_batch([self.inputs.train.ids[i] for i in batch], self.pad_id)
        targets = self.inputs.labels[batch].to(self.device)
        with self.autocast:
            output = self.model(input_ids=input_ids.to(self.device), attention_mask=attention_mask.to(self.device))
        loss = torch.nn.functional.cross_entropy(output.logits.float(), targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        self.seen += len(batch)
        correct = int((output.logits.argmax(dim=-1) == targets).sum())
        self.window.add(loss=loss.item(), correct=correct, examples=len(batch))

    def _record(self, bar: tqdm, *, with_eval: bool) -> None:
        """Add the current step to the history, evaluated on the subset when asked; start a new window."""
        if self.history and self.history[-1]["step"] == self.step:
            point = self.history.pop()  # a late evaluation of a step already logged joins its point
        else:
            point = {
                "step": self.step,
                "epoch": round(self.step / self.schedule.steps_per_epoch, 4),
                "train_loss": self.window.train_loss,
            }
        if with_eval:
            point["eval_accuracy"] = self._evaluate_subset()
            self.last_eval_step = self.step
            self.say(
                f"step {self.step}/{self.schedule.total_steps} epoch {point['epoch']:.2f}: "
                f"train loss {point['train_loss']:.4f}, eval accuracy {point['eval_accuracy']:.4f} "
                f"(best {self.best.accuracy:.4f} at step {self.best.step})"
            )
        self.history.append(point)
        bar.set_postfix(
            loss=f"{point['train_loss']:.3f}",
            acc=f"{self.window.train_accuracy:.3f}",
            eval_acc=f"{max(self.best.accuracy, 0):.3f}",
        )
        self.window = _Window()

    def _evaluate_subset(self) -> float:
        """Accuracy on the periodic eval subset; the weights are kept when they are the best so far."""
        logits = predict_logits(self.model, self.inputs.subset_ids, pad_id=self.pad_id, device=self.device)
        accuracy: float = metrics_from_logits(logits, self.inputs.subset_labels, self.data.labels)["accuracy"]
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor(self.inputs.subset_labels)).item()
        self.best.offer(accuracy=accuracy, loss=loss, step=self.step, model=self.model)
        return accuracy

    def finish(self) -> TrainOutcome:
        """Restore the best weights and measure them on the whole eval set (and the test set)."""
        self.best.restore(self.model)
        self.model.eval()
        train_seconds = time.monotonic() - self.started
        self.say(f"stopped: {self.stopped} after {self.step} steps ({train_seconds:.0f} s); best step {self.best.step}")
        self.report(LOAD_SHARE + TRAIN_SHARE, "evaluating the best weights")
        metrics = self._metrics_on(self.inputs.eval.ids, self.data.eval)
        metrics["history"] = self.history
        if self.data.test is not None:
            encoded_test = encode(self.tokenizer, self.data.test.texts, self.config.max_length)
            self.truncated["test"] = encoded_test.truncated
            metrics["test"] = self._metrics_on(encoded_test.ids, self.data.test)
        return TrainOutcome(
            model=self.model,
            tokenizer=self.tokenizer,
            device=self.device,
            metrics=metrics,
            steps=self.step,
            total_steps=self.schedule.total_steps,
            warmup_steps=self.schedule.warmup_steps,
            eval_every=self.schedule.eval_every,
            best_step=self.best.step,
            stopped=self.stopped,
            train_seconds=train_seconds,
            examples_seen=self.seen,
            truncated=self.truncated,
        )

    def _metrics_on(self, ids: list[list[int]], examples: LabeledSet) -> dict[str, Any]:
        logits = predict_logits(self.model, ids, pad_id=self.pad_id, device=self.device)
        return metrics_from_logits(logits, examples.label_ids, self.data.labels)


def train(
    config: TrainingConfig,
    data: PreparedData,
    *,
    progress: ProgressFn | None = None,
    log: LogFn | None = None,
    progress_bar: bool = False,
) -> TrainOutcome:
    """Fine-tune on ``data.train``, keep the weights best on ``data.eval``, report metrics.

    ``--max-minutes`` counts from here (loading included) to the end of the training loop;
    the final evaluation on the whole eval and test sets comes after it. Raises
    ``DataError`` when the base encoder or the requested device is missing.
    """
    started = time.monotonic()
    run = _FineTuningRun.prepare(config, data, started=started, report=progress or _no_progress, say=log or _no_log)
    run.fit(progress_bar=progress_bar)
    return run.finish()
