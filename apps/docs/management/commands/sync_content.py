"""Import content/ (docs, tutorials, courses in every language) into the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.docs.content import ContentError
from apps.docs.services import content_sync


class Command(BaseCommand):
    help = (
        "Sync the Markdown under content/ into the docs: unchanged files are left alone, deleted ones removed. "
        "Broken internal links, missing images and bad front matter stop the sync with the file and line, "
        "before anything is written."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--content-dir", type=Path, help="the content directory (default: content/ in the project)")

    def handle(self, *args: Any, content_dir: Path | None = None, **options: Any) -> None:
        verbose = options["verbosity"] >= 1
        try:
            content_sync(root=content_dir, log=self.stdout.write if verbose else None)
        except ContentError as exc:
            raise CommandError(str(exc)) from None
