"""One name for each variable a reader sets: ``PORTAL_URL`` and ``PORTAL_API_KEY``.

The quickstart tells the reader to export these two; a page, a tutorial or the home page's
snippet that reads another name (``$API_KEY``) sends a request without a key, and a reader
mixing the two gets 401.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.embedded

VARIABLES = {"PORTAL_URL", "PORTAL_API_KEY"}
SOURCES = sorted(
    [
        *(ROOT / "content").rglob("*.md"),
        *(ROOT / "templates").rglob("*.html"),
        *(ROOT / "apps").glob("*/templates/**/*.html"),
        *(ROOT / "apps").glob("*/demo.py"),  # the demo's seeded posts and pages
    ]
)
# $NAME, ${NAME}, os.environ["NAME"], os.environ.get("NAME"), os.getenv("NAME"), process.env.NAME
READ_RE = re.compile(
    r"""\$\{?(?P<shell>[A-Z][A-Z0-9_]*)|environ(?:\.get\(|\[)["'](?P<python>[A-Z][A-Z0-9_]*)["']"""
    r"""|getenv\(["'](?P<getenv>[A-Z][A-Z0-9_]*)["']|process\.env\.(?P<node>[A-Z][A-Z0-9_]*)"""
)
# Names of the key or of the portal's address that are not the ones the docs export.
ALIAS_RE = re.compile(r"(?:API_?KEY|TOKEN|_URL|^URL|BASE_URL|HOST)$")


def _reads(path: Path) -> list[tuple[int, str]]:
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        for match in READ_RE.finditer(line):
            found.append((number, next(name for name in match.groups() if name)))
    return found


def test_the_sources_scanned_include_the_home_page_and_the_docs():
    names = {path.relative_to(ROOT).as_posix() for path in SOURCES}
    assert {"templates/home.html", "content/en/docs/quickstart.md", "content/zh-hans/docs/quickstart.md"} <= names


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_samples_name_the_key_and_the_portal_url_as_the_quickstart_does(path):
    for line, name in _reads(path):
        if ALIAS_RE.search(name):
            assert name in VARIABLES, (
                f"{path.relative_to(ROOT)}:{line}: ${name}; the docs export {' and '.join(sorted(VARIABLES))}"
            )


def test_the_home_page_snippet_sends_the_key_the_quickstart_exports(db, client):
    html = client.get("/").content.decode()
    assert "Authorization: Bearer $PORTAL_API_KEY" in html
    assert "$API_KEY" not in html
