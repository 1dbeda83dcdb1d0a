from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from apps.docs.content import body_hash, split_front_matter
from apps.docs.services import content_sync

ROOT = Path(__file__).resolve().parents[2]
CONTENT = ROOT / "content"


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def english_hash(root: Path, rel: str) -> str:
    path = root / "en" / rel
    return body_hash(split_front_matter(path.read_text(), str(path))[1])


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small content tree: two docs pages and an image in English, one translated."""
    root = tmp_path / "content"
    write(
        root,
        "en/docs/index.md",
        """
        ---
        title: Overview
        section: get-started
        order: 1
        ---
        Start with the [guide](guide.md#details). ![Flow](../../images/flow.svg)
        """,
    )
    write(
        root,
        "en/docs/guide.md",
        """
        ---
        title: Guide
        summary: A guide.
        section: api
        order: 1
        ---
        ## Details

        Body text about webhooks.
        """,
    )
    write(root, "images/flow.svg", '<svg xmlns="http://www.w3.org/2000/svg"/>')
    write(
        root,
        "zh-hans/docs/guide.md",
        f"""
        ---
        title: 指南
        section: api
        order: 1
        source_hash: {english_hash(root, "docs/guide.md")}
        ---
        ## 细节

        关于回调的正文。
        """,
    )
    return root


@pytest.fixture
def sync(db, settings) -> Callable[..., object]:
    """Sync a content tree (default: the project's real content/) into the test database."""

    def run(root: Path | None = None) -> object:
        settings.DOCS_CONTENT_DIR = root or CONTENT
        return content_sync(root=root or CONTENT)

    return run


@pytest.fixture
def synced(db, sync) -> object:
    return sync()


@pytest.fixture(autouse=True)
def _english_first():
    """Each test starts in English: a request under /zh-hans/ leaves its language active
    in the thread, and ``reverse`` in the next test would build Chinese URLs."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()
