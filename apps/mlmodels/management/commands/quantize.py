"""Build and measure a version's int8 variant; store its accuracy and speed-up on the version."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.mlmodels.models import INT8_MAX_LOSS_POINTS, ModelVersion
from apps.mlmodels.quantization import THROUGHPUT_SENTENCES
from apps.mlmodels.selectors import version_serving_pick
from apps.mlmodels.services import model_version_quantize
from apps.mlmodels.training.config import DataError


class Command(BaseCommand):
    help = (
        "Quantise the linear layers of a model version to int8 (dynamic quantisation, CPU), measure its "
        "accuracy against fp32 on the version's evaluation data and both throughputs at batch 32, and store "
        f"the figures on the version. CPU workers serve the int8 variant when it loses under "
        f"{INT8_MAX_LOSS_POINTS} points and INFERENCE_QUANTIZED is on."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        # ``--version`` names the model version here, as in the API; Django's own option of
        # that name (its release number) gives way.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="model id, e.g. sentiment-sst2")
        parser.add_argument("--version", type=int, help="version number (default: the serving one, else the newest)")
        parser.add_argument(
            "--data",
            help="labeled file to measure on (default: the version's test file, SST-2's test file for SST-2 "
            "models, else its evaluation data)",
        )
        parser.add_argument(
            "--sentences",
            type=int,
            default=THROUGHPUT_SENTENCES,
            help="sentences timed per throughput round (default: %(default)s)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        versions = list(ModelVersion.objects.select_related("model").filter(model__slug=options["slug"]))
        if options["version"] is not None:
            versions = [v for v in versions if v.version == options["version"]]
        if not versions:
            shown = options["slug"] + (f" v{options['version']}" if options["version"] is not None else "")
            raise CommandError(f"No model version {shown}.")
        version = version_serving_pick(versions) or versions[0]
        started = time.monotonic()

        def log(message: str) -> None:
            self.stdout.write(f"  [{time.monotonic() - started:5.1f} s] {message}")

        self.stdout.write(f"Building the int8 variant of {version}...")
        try:
            model_version_quantize(version=version, data_path=options["data"], log=log, sentences=options["sentences"])
        except DataError as exc:
            raise CommandError(str(exc)) from None
        int8 = version.int8
        verdict = (
            "eligible: CPU workers serve it when INFERENCE_QUANTIZED is on"
            if version.int8_eligible
            else f"not served: it loses {INT8_MAX_LOSS_POINTS} points or more"
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{version} int8: accuracy {int8['accuracy']:.4f} (fp32 {int8['accuracy_fp32']:.4f}, "
                f"loss {int8['loss_points']:+.2f} points) on {int8['eval_examples']} examples of "
                f"{int8['eval_data']}; batch 32: {int8['sentences_per_s_int8']:.0f} vs "
                f"{int8['sentences_per_s_fp32']:.0f} sentences/s ({int8['speedup_b32']:.2f}x); {verdict}."
            )
        )
