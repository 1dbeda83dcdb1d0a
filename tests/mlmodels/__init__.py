"""Tests of the model registry, training pipeline and charts (helpers shared by the files)."""

from __future__ import annotations

from pathlib import Path

from ..services import ROOT, service_missing

SHARED_DATA = ROOT.parent / "shared" / "data"
DEMO_TSV = ROOT / "apps" / "mlmodels" / "demo_data" / "sentiment_demo.tsv"


def shared_data(*parts: str) -> Path:
    """A file of ../shared/data; skips the test without it (fails it when CI is set)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.is_file():
        service_missing(f"{path} is missing (the shared data sets live beside the checkout)")
    return path


def write_rows(path: Path, rows: list[tuple[str, str]], *, header: str | None = "text\tlabel") -> Path:
    lines = ([header] if header else []) + [f"{text}\t{label}" for text, label in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def demo_rows(start: int, stop: int) -> list[tuple[str, str]]:
    """Rows ``start:stop`` of the demo set (both labels appear in any slice of 20 or more)."""
    lines = DEMO_TSV.read_text(encoding="utf-8").splitlines()[1:]
    return [tuple(line.split("\t")) for line in lines[start:stop]]  # type: ignore[misc]
