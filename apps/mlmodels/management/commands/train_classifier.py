"""Fine-tune a text classifier from the bundled base encoder and register it as a draft."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.mlmodels.services import classifier_train
from apps.mlmodels.training.config import DataError, TrainingConfig


class Command(BaseCommand):
    help = (
        "Fine-tune all-MiniLM-L6-v2 for text classification on a TSV/CSV/JSONL file, write the artifact "
        "under MODEL_ARTIFACTS_DIR/<slug>/v<N>/ and register a draft version (--publish publishes it). "
        "Bad input stops with a clear message before any model is loaded."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = TrainingConfig(slug="x", train_path="x")
        data = parser.add_argument_group("data")
        data.add_argument("--train", required=True, help="training file (.tsv, .csv or .jsonl)")
        data.add_argument("--eval", help="evaluation file; without it a stratified share of --train is held out")
        data.add_argument("--test", help="optional test file, evaluated once with the best weights")
        data.add_argument(
            "--labels", help="comma-separated label names in logit order; maps integer ids 0..n-1 or 1..n"
        )
        data.add_argument("--text-column", help="text column name (header) or 0-based number; default: detected")
        data.add_argument("--label-column", help="label column name (header) or 0-based number; default: detected")
        data.add_argument("--max-train-examples", type=int, help="stratified sample of at most N training examples")
        data.add_argument(
            "--eval-fraction", type=float, default=defaults.eval_fraction, help="held-out share without --eval"
        )
        model = parser.add_argument_group("model")
        model.add_argument("--slug", required=True, help="model id, e.g. sentiment-sst2")
        model.add_argument("--name", default="", help="display name")
        model.add_argument("--description", default="", help="one-line summary shown with the model")
        model.add_argument("--publish", action="store_true", help="publish the new version at once")
        model.add_argument("--base-encoder", help="local encoder directory (default: the bundled all-MiniLM-L6-v2)")
        run = parser.add_argument_group("training")
        run.add_argument("--epochs", type=int, default=defaults.epochs)
        run.add_argument("--batch-size", type=int, default=defaults.batch_size)
        run.add_argument("--lr", type=float, default=defaults.lr, help="peak learning rate (AdamW)")
        run.add_argument("--max-length", type=int, default=defaults.max_length, help="tokens per input")
        run.add_argument("--max-minutes", type=float, help="time budget for loading and training; keeps the best")
        run.add_argument("--eval-every", type=int, help="steps between evaluations (default: about 10 per run)")
        run.add_argument(
            "--eval-subset", type=int, default=defaults.eval_subset, help="eval examples used by periodic checks"
        )
        run.add_argument("--patience", type=int, default=defaults.patience, help="evaluations without gain, then stop")
        run.add_argument(
            "--freeze-embeddings", action="store_true", help="keep the word embeddings fixed (faster; small data)"
        )
        run.add_argument("--seed", type=int, default=defaults.seed)
        run.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")

    def handle(self, *args: Any, **options: Any) -> None:
        labels = [label.strip() for label in options["labels"].split(",")] if options["labels"] else None
        config = TrainingConfig(
            slug=options["slug"],
            name=options["name"],
            description=options["description"],
            train_path=options["train"],
            eval_path=options["eval"],
            test_path=options["test"],
            labels=labels,
            text_column=options["text_column"],
            label_column=options["label_column"],
            epochs=options["epochs"],
            batch_size=options["batch_size"],
            lr=options["lr"],
            max_train_examples=options["max_train_examples"],
            eval_fraction=options["eval_fraction"],
            eval_subset=options["eval_subset"],
            eval_every=options["eval_every"],
            patience=options["patience"],
            freeze_embeddings=options["freeze_embeddings"],
            max_minutes=options["max_minutes"],
            max_length=options["max_length"],
            seed=options["seed"],
            device=options["device"],
            num_threads=settings.TORCH_NUM_THREADS,
            publish=options["publish"],
            base_encoder=options["base_encoder"],
        )
        verbose = options["verbosity"] >= 1
        started = time.monotonic()
        try:
            version = classifier_train(
                config=config,
                log=self.stdout.write if verbose else None,
                progress_bar=verbose,
            )
        except DataError as exc:
            raise CommandError(str(exc)) from None
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        metrics = version.metrics
        summary = f"accuracy {metrics['accuracy']:.4f}, macro-F1 {metrics['macro_f1']:.4f} on eval"
        if "test" in metrics:
            summary += (
                f"; accuracy {metrics['test']['accuracy']:.4f}, macro-F1 {metrics['test']['macro_f1']:.4f} on test"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Registered {version} ({version.status}) in {time.monotonic() - started:.0f} s: {summary}.\n"
                f"Artifact: {version.artifact_path}"
            )
        )
