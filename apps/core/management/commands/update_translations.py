"""Refresh every Chinese message catalogue: the project's (locale/) and each app's own.

`makemessages` run from inside an app folder breaks here (Celery's Django fix-up puts the
working directory first on sys.path, where apps/<app>/apps.py hides the `apps` package),
so this command changes directory itself after Django is set up.
"""

import os
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

APPS_WITH_CATALOGUES = ["apps/docs", "apps/forum", "apps/apikeys", "apps/playground"]
COMMON_IGNORES = [".venv/*", "var/*", "tests/*", "deploy/*", "content/*", "node_modules/*"]


class Command(BaseCommand):
    help = "Run makemessages for zh_Hans in the project and in every app with its own locale/."

    def handle(self, *args: object, **options: object) -> None:
        root = Path(settings.BASE_DIR)
        here = Path.cwd()
        try:
            for folder in [".", *APPS_WITH_CATALOGUES]:
                os.chdir(root / folder)
                ignores = COMMON_IGNORES + ([f"{app}/*" for app in APPS_WITH_CATALOGUES] if folder == "." else [])
                call_command("makemessages", locale=["zh_Hans"], ignore_patterns=ignores, no_location=True, verbosity=0)
                self.stdout.write(f"updated {folder}/locale/zh_Hans/LC_MESSAGES/django.po")
        finally:
            os.chdir(here)
        self.stdout.write("Fill in the new entries (msgattrib --untranslated shows them), then run `make messages`.")
