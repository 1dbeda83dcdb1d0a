"""Reading labeled text files and checking them before any model is loaded.

Formats by extension: ``.tsv`` (tab-separated, no quoting, so AG News' stray quotes stay
text), ``.csv`` (standard quoting) and ``.jsonl`` (one object per line). A header row is
optional: a first row with a known column name (``text``, ``sentence``, ``label``...) is a
header; otherwise a two-column file reads as ``text, label``. Labels are names, or integer ids that
``labels`` maps to names (ids 0..n-1 or 1..n).

Every problem raises ``DataError`` with the file and line, before anything is trained.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .config import DataError

TEXT_ALIASES = ("text", "sentence", "content", "review", "document", "input")
LABEL_ALIASES = ("label", "labels", "class", "category", "target", "sentiment")
FORMATS = {".tsv": "tsv", ".tab": "tsv", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
INT_RE = re.compile(r"^-?\d+$")

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass(frozen=True)
class RawRows:
    """The text and raw label of each example in one file, with its line number."""

    path: Path
    texts: list[str]
    labels: list[str]
    lines: list[int]


@dataclass(frozen=True)
class LabeledSet:
    """Examples whose labels are indices into ``PreparedData.labels``."""

    source: str
    texts: list[str]
    label_ids: list[int]

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices: list[int], *, source: str | None = None) -> LabeledSet:
        return LabeledSet(
            source=source or self.source,
            texts=[self.texts[i] for i in indices],
            label_ids=[self.label_ids[i] for i in indices],
        )

    def describe(self, labels: list[str]) -> dict[str, object]:
        counts = Counter(self.label_ids)
        return {
            "path": self.source,
            "examples": len(self),
            "label_counts": {label: counts.get(i, 0) for i, label in enumerate(labels)},
        }


@dataclass(frozen=True)
class PreparedData:
    labels: list[str]
    train: LabeledSet
    eval: LabeledSet
    test: LabeledSet | None

    def describe(self) -> dict[str, object]:
        described: dict[str, object] = {
            "train": self.train.describe(self.labels),
            "eval": self.eval.describe(self.labels),
        }
        if self.test is not None:
            described["test"] = self.test.describe(self.labels)
        return described


def read_labeled_file(path: Path | str, *, text_column: str | None = None, label_column: str | None = None) -> RawRows:
    """Read ``path`` into texts and raw label strings; raise ``DataError`` on any problem."""
    path = Path(path)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"{path}: unknown file type {path.suffix!r}; use .tsv, .csv or .jsonl")
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    data = path.read_bytes()
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}, line {line}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    if not content.strip():
        raise DataError(f"{path}: the file is empty")
    if kind == "jsonl":
        rows = _read_jsonl(path, content, text_column, label_column)
    else:
        rows = _read_delimited(path, content, "\t" if kind == "tsv" else ",", text_column, label_column)
    if not rows.texts:
        raise DataError(f"{path}: no examples (only a header or blank lines)")
    return rows


def _read_delimited(
    path: Path, content: str, delimiter: str, text_column: str | None, label_column: str | None
) -> RawRows:
    source = io.StringIO(content, newline="")
    if delimiter == "\t":  # tab-separated files hold quote characters as plain text
        reader = csv.reader(source, delimiter=delimiter, quoting=csv.QUOTE_NONE)
    else:
        reader = csv.reader(source, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL)
    rows = RawRows(path=path, texts=[], labels=[], lines=[])
    columns: tuple[int, int] | None = None
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if columns is None:
                columns, is_header = _columns(path, row, text_column, label_column)
                if is_header:
                    continue
            text_at, label_at = columns
            if len(row) <= max(text_at, label_at):
                raise DataError(
                    f"{path}, line {reader.line_num}: expected at least {max(text_at, label_at) + 1} columns, "
                    f"found {len(row)}"
                )
            _append(rows, reader.line_num, row[text_at], row[label_at])
    except csv.Error as exc:
        raise DataError(f"{path}, line {reader.line_num}: {exc}") from None
    return rows


def _columns(
    path: Path, first: list[str], text_column: str | None, label_column: str | None
) -> tuple[tuple[int, int], bool]:
    """Which columns hold the text and the label, and whether ``first`` is a header row."""
    header = [cell.strip().lower() for cell in first]
    named = [c for c in (text_column, label_column) if c is not None and not c.isdigit()]
    is_header = bool(named) or any(c in TEXT_ALIASES + LABEL_ALIASES for c in header)
    if named:
        missing = [c for c in named if c.lower() not in header]
        if missing:
            raise DataError(
                f"{path}: no column named {', '.join(repr(c) for c in missing)} in the header "
                f"({', '.join(repr(c) for c in first)})"
            )

    def pick(requested: str | None, aliases: tuple[str, ...], default: int, what: str) -> int:
        if requested is not None and requested.isdigit():
            return int(requested)
        if requested is not None:
            return header.index(requested.lower())
        if is_header:
            for alias in aliases:
                if alias in header:
                    return header.index(alias)
            raise DataError(f"{path}: no {what} column in the header ({', '.join(first)}); pass --{what}-column")
        if len(first) != 2:
            raise DataError(
                f"{path}: no header row and {len(first)} columns; pass --text-column and --label-column "
                "(names from a header, or 0-based column numbers)"
            )
        return default

    text_at = pick(text_column, TEXT_ALIASES, 0, "text")
    label_at = pick(label_column, LABEL_ALIASES, 1, "label")
    if text_at == label_at:
        raise DataError(f"{path}: the text and label columns are the same column")
    return (text_at, label_at), is_header


def _read_jsonl(path: Path, content: str, text_column: str | None, label_column: str | None) -> RawRows:
    rows = RawRows(path=path, texts=[], labels=[], lines=[])
    keys: tuple[str, str] | None = None
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}, line {number}: not valid JSON ({exc.msg})") from None
        if not isinstance(item, dict):
            raise DataError(f"{path}, line {number}: expected a JSON object")
        if keys is None:
            keys = (
                _json_key(path, number, item, requested=text_column, aliases=TEXT_ALIASES, what="text"),
                _json_key(path, number, item, requested=label_column, aliases=LABEL_ALIASES, what="label"),
            )
        text_key, label_key = keys
        for key in keys:
            if key not in item:
                raise DataError(f"{path}, line {number}: no {key!r} field")
        text, label = item[text_key], item[label_key]
        if not isinstance(text, str):
            raise DataError(f"{path}, line {number}: {text_key!r} must be a string")
        if isinstance(label, bool) or not isinstance(label, str | int):
            raise DataError(f"{path}, line {number}: {label_key!r} must be a string or an integer")
        _append(rows, number, text, str(label))
    return rows


def _json_key(path: Path, line: int, item: dict, *, requested: str | None, aliases: tuple[str, ...], what: str) -> str:
    if requested is not None:
        if requested not in item:
            raise DataError(f"{path}, line {line}: no field named {requested!r} (fields: {', '.join(item)})")
        return requested
    for alias in aliases:
        if alias in item:
            return alias
    raise DataError(f"{path}, line {line}: no {what} field (fields: {', '.join(item)}); pass --{what}-column")


def _append(rows: RawRows, line: int, text: str, label: str) -> None:
    """Add one example to ``rows`` as it is read; raise ``DataError`` if its text or label is blank."""
    text, label = text.strip(), label.strip()
    if not text:
        raise DataError(f"{rows.path}, line {line}: the text is empty")
    if not label:
        raise DataError(f"{rows.path}, line {line}: the label is empty")
    rows.texts.append(text)
    rows.labels.append(label)
    rows.lines.append(line)


def resolve_labels(raw: dict[str, RawRows], names: list[str] | None) -> tuple[list[str], dict[str, int]]:
    """Ordered label names and a map from raw label strings to indices.

    ``raw`` maps a role ("train", "eval", "test") to its rows; train decides the labels when
    ``names`` is not given. Raises ``DataError`` for ids that do not fit ``names``, labels
    in eval/test unknown to train, a label without training examples, or a single class.
    """
    everything = [label for rows in raw.values() for label in rows.labels]
    all_ids = all(INT_RE.match(label) for label in everything)
    if names is not None:
        labels = list(names)
        if all_ids:
            ids = {int(label) for label in everything}
            if min(ids) >= 0 and max(ids) < len(labels):
                base = 0
            elif min(ids) >= 1 and max(ids) <= len(labels):
                base = 1
            else:
                raise DataError(
                    f"label ids {_listing(sorted(ids))} do not fit the {len(labels)} names given with --labels "
                    f"(expected 0..{len(labels) - 1} or 1..{len(labels)})"
                )
            mapping = {str(i): i - base for i in ids}
            mapping.update({label: mapping[str(int(label))] for label in set(everything)})
        else:
            mapping = {label: i for i, label in enumerate(labels)}
    else:
        found = set(raw["train"].labels)
        ordered = sorted(found, key=int) if all(INT_RE.match(x) for x in found) else sorted(found)
        labels = ordered
        mapping = {label: i for i, label in enumerate(labels)}
    for role, rows in raw.items():
        unknown = Counter(label for label in rows.labels if label not in mapping)
        if unknown:
            first = next(line for line, label in zip(rows.lines, rows.labels, strict=True) if label not in mapping)
            raise DataError(
                f"{rows.path}: unknown label(s) in {role}: {_listing(sorted(unknown))} (first on line {first}); "
                f"expected one of {_listing(labels)}"
            )
    train_counts = Counter(mapping[label] for label in raw["train"].labels)
    if len(train_counts) < 2:
        only = labels[next(iter(train_counts))]
        raise DataError(f"{raw['train'].path}: every training example has the label {only!r}; a classifier needs two")
    empty = [labels[i] for i in range(len(labels)) if not train_counts.get(i)]
    if empty:
        raise DataError(f"{raw['train'].path}: no training examples for label(s) {_listing(empty)}")
    return labels, mapping


def stratified_indices(label_ids: list[int], count: int, rng: random.Random) -> list[int]:
    """``count`` indices drawn so that each label keeps its share (at least one each)."""
    by_label: dict[int, list[int]] = {}
    for index, label in enumerate(label_ids):
        by_label.setdefault(label, []).append(index)
    total = len(label_ids)
    count = min(count, total)
    quotas = {label: max(1, count * len(members) // total) for label, members in by_label.items()}
    # Hand out what rounding down left over, largest remainders first.
    remainders = sorted(by_label, key=lambda lb: (count * len(by_label[lb]) % total, -lb), reverse=True)
    for label in remainders:
        if sum(quotas.values()) >= count:
            break
        if quotas[label] < len(by_label[label]):
            quotas[label] += 1
    chosen: list[int] = []
    for label in sorted(by_label):
        members = list(by_label[label])
        rng.shuffle(members)
        chosen.extend(members[: quotas[label]])
    rng.shuffle(chosen)
    return chosen


def prepare_data(
    *,
    train_path: str,
    eval_path: str | None = None,
    test_path: str | None = None,
    labels: list[str] | None = None,
    text_column: str | None = None,
    label_column: str | None = None,
    max_train_examples: int | None = None,
    eval_fraction: float = 0.1,
    seed: int = 42,
    display: dict[str, str] | None = None,
) -> PreparedData:
    """Read, check and split the data for one run. Raises ``DataError``; writes nothing.

    Without ``eval_path`` a stratified ``eval_fraction`` of train is held out for
    evaluation. ``display`` maps a role to the path shown in descriptions.
    """
    display = display or {}
    paths = {"train": train_path, "eval": eval_path, "test": test_path}
    raw = {
        role: read_labeled_file(path, text_column=text_column, label_column=label_column)
        for role, path in paths.items()
        if path
    }
    names, mapping = resolve_labels(raw, labels)

    def labeled(role: str, source: str) -> LabeledSet:
        rows = raw[role]
        return LabeledSet(source=source, texts=rows.texts, label_ids=[mapping[label] for label in rows.labels])

    rng = random.Random(seed)  # noqa: S311 (seeded for reproducible splits, not for secrets)
    train = labeled("train", display.get("train", train_path))
    if eval_path:
        evaluation = labeled("eval", display.get("eval", eval_path))
    else:
        counts = Counter(train.label_ids)
        short = [names[i] for i, n in counts.items() if n < 2]
        if short:
            raise DataError(
                f"{train_path}: label(s) {_listing(short)} have fewer than two examples, too few to hold one out "
                "for evaluation; add examples or pass --eval"
            )
        held = stratified_indices(train.label_ids, max(len(counts), round(len(train) * eval_fraction)), rng)
        held_set = set(held)
        kept = [i for i in range(len(train)) if i not in held_set]
        source = f"{train.source} (stratified held-out {eval_fraction:.0%})"
        evaluation = train.subset(sorted(held), source=source)
        train = train.subset(kept)
    if max_train_examples and len(train) > max_train_examples:
        sample = stratified_indices(train.label_ids, max_train_examples, rng)
        train = train.subset(sorted(sample), source=f"{train.source} (stratified sample of {max_train_examples})")
    test = labeled("test", display.get("test", test_path)) if test_path else None
    return PreparedData(labels=names, train=train, eval=evaluation, test=test)


def _listing(items: list) -> str:
    shown = ", ".join(repr(str(item)) for item in items[:8])
    return shown + (f" and {len(items) - 8} more" if len(items) > 8 else "")
