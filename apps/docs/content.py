"""Reading ``content/``: files, front matter, code samples and links, checked with file and line.

Layout (the same under ``content/en/`` and ``content/zh-hans/``)::

    docs/index.md                   the docs overview at /docs/
    docs/<slug>.md                  a docs page at /docs/<slug>/
    docs/v<N>/<slug>.md             the page of an older or newer API version (front matter
                                    ``version: vN``) at /docs/v<N>/<slug>/ unless vN is newest
    tutorials/<course>/index.md     a course at /tutorials/<course>/
    tutorials/<course>/<lesson>.md  a lesson at /tutorials/<course>/<lesson>/
    content/images/...              images, referenced by relative path from any page

Front matter is YAML between ``---`` lines. A code sample is a fenced block; the line just
before its opening fence may carry ``<!-- sample: id=... check=... [playground=1] -->``,
which the test harness reads (see tests/docs/test_samples.py). Every problem raises
``ContentError`` naming the file and line, before anything is written.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

from .sections import DOC_SECTIONS, LEVELS

LANGUAGE_DIRS = {"en": "en", "zh-hans": "zh-hans"}
SOURCE_LANGUAGE = "en"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"}
SAMPLE_CHECKS = {"run", "api", "parse", "output"}
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9-]*)*$")
VERSION_RE = re.compile(r"^v[1-9][0-9]*$")

FENCE_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+.-]*)(?P<rest>.*)$")
MARKER_RE = re.compile(r"^[ \t]*<!--[ \t]*sample:(?P<attrs>.*?)-->[ \t]*$")
# Inline links and images: [text](target "title") and ![alt](src); reference definitions.
INLINE_LINK_RE = re.compile(r"(?P<bang>!?)\[(?P<text>[^\]\n]*)\]\((?P<target><[^>\n]+>|[^)\s]+)(?:\s+\"[^\"\n]*\")?\)")
REF_DEF_RE = re.compile(r"^[ \t]{0,3}\[(?P<label>[^\]\n]+)\]:[ \t]*(?P<target>\S+)")
INLINE_CODE_RE = re.compile(r"(`+)(?:(?!\1).)+?\1")

COMMON_KEYS = {"title", "summary", "order", "tags", "draft", "source_hash"}
DOC_KEYS = COMMON_KEYS | {"section", "version"}
COURSE_KEYS = COMMON_KEYS | {"level", "duration", "prerequisites", "scopes"}
LESSON_KEYS = COMMON_KEYS | {"duration"}


class ContentError(Exception):
    """A content file that cannot be published, with the file and line to fix."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line
        self.message = message


def content_dir() -> Path:
    return Path(getattr(settings, "DOCS_CONTENT_DIR", Path(settings.BASE_DIR) / "content"))


def body_hash(body: str) -> str:
    """The short hash a translation names in ``source_hash`` (of the English body, with
    line endings and trailing space normalised, so that re-saving a file changes nothing)."""
    normalised = "\n".join(line.rstrip() for line in body.replace("\r\n", "\n").strip().split("\n"))
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:12]


@dataclass
class Link:
    target: str
    line: int
    image: bool


@dataclass
class Sample:
    index: int  # position among the page's fenced blocks, in source order
    line: int  # line of the opening fence
    lang: str
    code: str
    id: str = ""
    check: str = ""
    attrs: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "lang": self.lang, "check": self.check, "line": self.line, **self.attrs}


@dataclass
class SourceFile:
    path: Path  # absolute
    rel: str  # relative to the content root, e.g. "en/docs/quickstart.md"
    language: str
    kind: str  # doc | course | lesson
    slug: str
    course: str
    version: str
    meta: dict[str, Any]
    body: str
    body_line: int  # file line of the body's first line
    raw_hash: str
    links: list[Link]
    samples: list[Sample]

    @property
    def display_path(self) -> str:
        return f"content/{self.rel}"

    def error(self, line: int, message: str) -> ContentError:
        return ContentError(self.display_path, line, message)

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.language, self.version, self.kind, self.course, self.slug)


def split_front_matter(text: str, display: str) -> tuple[dict[str, Any], str, int]:
    """(front matter, body, line number of the body's first line)."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise ContentError(display, 1, "the file must start with YAML front matter between '---' lines")
    for end in range(1, len(lines)):
        if lines[end].strip() == "---":
            break
    else:
        raise ContentError(display, 1, "the front matter has no closing '---' line")
    try:
        meta = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = (mark.line + 2) if mark is not None else 1
        raise ContentError(display, line, f"invalid YAML front matter: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(meta, dict):
        raise ContentError(display, 2, "the front matter must be a mapping of keys to values")
    return meta, "\n".join(lines[end + 1 :]), end + 2


def _meta_line(text: str, key: str) -> int:
    for number, line in enumerate(text.split("\n"), start=1):
        if line.startswith(f"{key}:"):
            return number
    return 1


def _check_meta(meta: dict[str, Any], *, allowed: set[str], text: str, display: str, kind: str) -> None:
    for key in meta:
        if key not in allowed:
            raise ContentError(display, _meta_line(text, key), f"unknown front matter key {key!r} for a {kind}")
    if not isinstance(meta.get("title"), str) or not meta["title"].strip():
        raise ContentError(display, 2, "the front matter needs a non-empty 'title'")
    checks: list[tuple[str, type | tuple[type, ...]]] = [
        ("summary", str),
        ("order", int),
        ("draft", bool),
        ("source_hash", str),
        ("duration", int),
        ("section", str),
        ("version", str),
        ("level", str),
    ]
    for key, expected in checks:
        if key in meta and not isinstance(meta[key], expected):
            raise ContentError(display, _meta_line(text, key), f"'{key}' has the wrong type: {meta[key]!r}")
    for key in ("tags", "prerequisites", "scopes"):
        value = meta.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ContentError(display, _meta_line(text, key), f"'{key}' must be a list of strings")
    if "section" in meta and meta["section"] not in DOC_SECTIONS:
        raise ContentError(
            display,
            _meta_line(text, "section"),
            f"unknown section {meta['section']!r}; known: {', '.join(DOC_SECTIONS)}",
        )
    if "level" in meta and meta["level"] not in LEVELS:
        raise ContentError(display, _meta_line(text, "level"), f"unknown level {meta['level']!r}")
    if "version" in meta and not VERSION_RE.match(meta["version"]):
        raise ContentError(display, _meta_line(text, "version"), "'version' must look like v1, v2, ...")


def _marker_attrs(text: str, *, display: str, number: int) -> dict[str, str]:
    try:
        return dict(pair.split("=", 1) for pair in shlex.split(text))
    except ValueError:
        raise ContentError(display, number, "a sample marker reads <!-- sample: id=NAME check=KIND -->") from None


def _sample_mark(sample: Sample, pending: tuple[int, dict[str, str]], *, display: str) -> None:
    """Give ``sample`` the id, check and attributes of the marker on the line before it."""
    marker_line, attrs = pending
    if marker_line != sample.line - 1:
        raise ContentError(display, marker_line, "a sample marker must be on the line just before its fence")
    sample.id = attrs.pop("id", "")
    sample.check = attrs.pop("check", "")
    sample.attrs = attrs
    if not sample.id or sample.check not in SAMPLE_CHECKS:
        raise ContentError(
            display, marker_line, f"a sample needs id=NAME and check= one of {', '.join(sorted(SAMPLE_CHECKS))}"
        )


def _line_links(line: str, number: int) -> list[Link]:
    """The links of one line outside a code block (inline code spans ignored)."""
    plain = INLINE_CODE_RE.sub(lambda m: " " * len(m.group(0)), line)
    links = [
        Link(target=match.group("target").strip("<>"), line=number, image=bool(match.group("bang")))
        for match in INLINE_LINK_RE.finditer(plain)
    ]
    ref = REF_DEF_RE.match(plain)
    if ref and not ref.group("label").startswith("^"):
        links.append(Link(target=ref.group("target").strip("<>"), line=number, image=False))
    return links


def scan_body(body: str, *, first_line: int, display: str) -> tuple[list[Link], list[Sample]]:
    """Links outside code, and every fenced code block with its sample marker."""
    links: list[Link] = []
    samples: list[Sample] = []
    lines = body.split("\n")
    open_fence: tuple[str, str] | None = None  # (indent, fence)
    current: Sample | None = None
    code_lines: list[str] = []
    pending: tuple[int, dict[str, str]] | None = None
    for offset, line in enumerate(lines):
        number = first_line + offset
        if open_fence is not None:
            indent, fence = open_fence
            stripped = line.strip()
            if stripped.startswith(fence[0] * len(fence)) and set(stripped) <= {fence[0]}:
                assert current is not None
                current.code = "\n".join(code_lines)
                samples.append(current)
                open_fence, current, code_lines = None, None, []
            else:
                code_lines.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            continue
        marker = MARKER_RE.match(line)
        if marker:
            pending = (number, _marker_attrs(marker.group("attrs"), display=display, number=number))
            continue
        opening = FENCE_RE.match(line)
        if opening:
            open_fence = (opening.group("indent"), opening.group("fence"))
            current = Sample(index=len(samples), line=number, lang=opening.group("lang").lower(), code="")
            if pending is not None:
                _sample_mark(current, pending, display=display)
            pending = None
            continue
        if pending is not None and line.strip():
            raise ContentError(display, pending[0], "a sample marker must be on the line just before its fence")
        links.extend(_line_links(line, number))
    if open_fence is not None and current is not None:
        raise ContentError(display, current.line, "this code fence is never closed")
    if pending is not None:
        raise ContentError(display, pending[0], "a sample marker must be followed by a code fence")
    return links, samples


def _classify(rel_parts: tuple[str, ...], meta: dict[str, Any], display: str) -> tuple[str, str, str, str]:
    """(kind, slug, course, version) from the path below the language directory."""
    area, *rest = rel_parts
    stem_parts = [*rest[:-1], rest[-1].removesuffix(".md")] if rest else []
    if area == "docs":
        version = meta.get("version", "v1")
        if stem_parts and VERSION_RE.match(stem_parts[0]):
            if stem_parts[0] != version:
                raise ContentError(display, 1, f"a file under {stem_parts[0]}/ must say 'version: {stem_parts[0]}'")
            stem_parts = stem_parts[1:]
        if stem_parts and stem_parts[-1] == "index":
            stem_parts = stem_parts[:-1]
        slug = "/".join(stem_parts)
        if slug and not SLUG_RE.match(slug):
            raise ContentError(display, 1, "file names must be lowercase letters, digits and '-'")
        return "doc", slug, "", version
    if area == "tutorials":
        if len(stem_parts) != 2 or not all(SLUG_RE.match(p) for p in stem_parts) or "/" in stem_parts[0]:
            raise ContentError(
                display, 1, "tutorials live in tutorials/<course>/index.md and tutorials/<course>/<lesson>.md"
            )
        course, name = stem_parts
        if name == "index":
            return "course", "", course, meta.get("version", "v1")
        return "lesson", name, course, meta.get("version", "v1")
    raise ContentError(display, 1, "pages live under docs/ or tutorials/")


def read_file(root: Path, path: Path) -> SourceFile:
    rel = path.relative_to(root).as_posix()
    display = f"content/{rel}"
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError:
        raise ContentError(display, 1, "the file is not UTF-8") from None
    meta, body, body_line = split_front_matter(text, display)
    language_dir, *rest = Path(rel).parts
    language = next(code for code, directory in LANGUAGE_DIRS.items() if directory == language_dir)
    kind, slug, course, version = _classify(tuple(rest), meta, display)
    allowed = {"doc": DOC_KEYS, "course": COURSE_KEYS, "lesson": LESSON_KEYS}[kind]
    _check_meta(meta, allowed=allowed, text=text, display=display, kind=kind)
    if kind == "doc" and "section" not in meta:
        raise ContentError(display, 2, f"a docs page needs a 'section': one of {', '.join(DOC_SECTIONS)}")
    links, samples = scan_body(body, first_line=body_line, display=display)
    return SourceFile(
        path=path,
        rel=rel,
        language=language,
        kind=kind,
        slug=slug,
        course=course,
        version=version,
        meta=meta,
        body=body,
        body_line=body_line,
        raw_hash=hashlib.sha256(raw).hexdigest(),
        links=links,
        samples=samples,
    )


def read_tree(root: Path) -> list[SourceFile]:
    """Every page under ``root``, checked on its own (links are checked by the sync)."""
    files: list[SourceFile] = []
    seen: dict[tuple[str, str, str, str, str], str] = {}
    for language_dir in LANGUAGE_DIRS.values():
        base = root / language_dir
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.md")):
            if any(part.startswith((".", "_")) for part in path.relative_to(root).parts):
                continue
            source = read_file(root, path)
            if source.key in seen:
                raise source.error(1, f"this page has the same URL as {seen[source.key]}")
            seen[source.key] = source.display_path
            files.append(source)
    return files
