"""Demo content for the docs: the project's own docs, tutorials and courses from content/.

``python manage.py demo_setup`` calls ``load``; the sync is idempotent, so a second run
only reports that nothing changed.
"""

from __future__ import annotations

from typing import Any

from .services import content_sync


def load(*, stdout: Any) -> None:
    content_sync(log=stdout.write)
