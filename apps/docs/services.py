"""Writes of the docs app: syncing ``content/`` into pages, course progress and feedback."""

from __future__ import annotations

import hashlib
import logging
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.db import connection, transaction
from django.urls import Resolver404, resolve, reverse
from django.urls.base import translate_url
from django.utils import timezone, translation

from .content import (
    IMAGE_SUFFIXES,
    SOURCE_LANGUAGE,
    ContentError,
    SourceFile,
    body_hash,
    content_dir,
    read_tree,
)
from .models import Kind, LessonProgress, Page, PageFeedback
from .rendering import RENDER_VERSION, RenderedPage, render_source
from .text import segment_for_index

if TYPE_CHECKING:
    from apps.accounts.models import User
    from apps.accounts.types import Viewer

logger = logging.getLogger(__name__)

VERSIONS_CACHE_KEY = "docs:versions"
# Site paths outside the docs that pages may link to before their app exists: DESIGN.md's
# outward contracts (the REST API and its docs land with the API issue).
CONTRACT_PREFIXES = ("/api/",)


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deleted)

    def summary(self) -> str:
        return (
            f"{len(self.created)} created, {len(self.updated)} updated, {len(self.deleted)} deleted, "
            f"{self.unchanged} unchanged"
        )


def _version_key(version: str) -> int:
    return int(version.lstrip("v"))


def _page_url(source: SourceFile, latest: str) -> str:
    with translation.override(source.language):
        if source.kind == Kind.COURSE:
            return reverse("docs:course", kwargs={"course": source.course})
        if source.kind == Kind.LESSON:
            return reverse("docs:lesson", kwargs={"course": source.course, "lesson": source.slug})
        if source.version != latest:
            if source.slug:
                return reverse("docs:versioned_page", kwargs={"version": source.version, "slug": source.slug})
            return reverse("docs:versioned_index", kwargs={"version": source.version})
        if source.slug:
            return reverse("docs:page", kwargs={"slug": source.slug})
        return reverse("docs:index")


class _Linker:
    """Resolves the link targets of every file and remembers the anchors to check later."""

    def __init__(self, root: Path, files: list[SourceFile], latest: str) -> None:
        self.root = root.resolve()
        self.by_path = {source.path.resolve(): source for source in files}
        self.urls = {source.path.resolve(): _page_url(source, latest) for source in files}
        self.url_to_source: dict[str, SourceFile] = {}
        for path, url in self.urls.items():
            self.url_to_source[url] = self.by_path[path]
        # (file, line, target file or None for the same page, fragment)
        self.anchor_checks: list[tuple[SourceFile, int, SourceFile, str]] = []

    def resolve(self, source: SourceFile) -> dict[str, str]:
        urls: dict[str, str] = {}
        for link in source.links:
            target = link.target
            if "://" in target or target.startswith(("mailto:", "tel:")):
                if link.image:
                    raise source.error(link.line, f"images must be files in content/, not {target}")
                continue
            path_part, _, fragment = target.partition("#")
            if not path_part:
                self.anchor_checks.append((source, link.line, source, fragment))
                continue
            if path_part.startswith("/"):
                urls[target] = self._site_path(source, link.line, path_part, fragment)
                continue
            resolved = (source.path.parent / PurePosixPath(path_part)).resolve()
            if not resolved.is_relative_to(self.root):
                raise source.error(link.line, f"the link {target!r} leaves the content directory")
            if link.image or resolved.suffix.lower() in IMAGE_SUFFIXES:
                urls[target] = self._image_url(source, link.line, target, resolved)
            else:
                urls[target] = self._page_link(source, link.line, target, resolved, fragment)
        return urls

    def _image_url(self, source: SourceFile, line: int, target: str, resolved: Path) -> str:
        if resolved.suffix.lower() not in IMAGE_SUFFIXES:
            raise source.error(line, f"{target!r} is not an image ({', '.join(sorted(IMAGE_SUFFIXES))})")
        if not resolved.is_file():
            raise source.error(line, f"missing image {target!r}")
        with translation.override(source.language):
            return reverse("docs:media", kwargs={"path": resolved.relative_to(self.root).as_posix()})

    def _page_link(self, source: SourceFile, line: int, target: str, resolved: Path, fragment: str) -> str:
        if resolved.suffix.lower() != ".md":
            raise source.error(line, f"link to the page's .md file, not {target!r}")
        target_source = self.by_path.get(resolved)
        if target_source is None:
            raise source.error(line, f"broken link: {target!r} is not a page")
        if target_source.language != source.language:
            raise source.error(line, f"{target!r} is a page in another language")
        if fragment:
            self.anchor_checks.append((source, line, target_source, fragment))
        return self.urls[resolved] + (f"#{fragment}" if fragment else "")

    def _site_path(self, source: SourceFile, line: int, path: str, fragment: str) -> str:
        if path.startswith(CONTRACT_PREFIXES):
            return path + (f"#{fragment}" if fragment else "")
        if path.startswith(("/docs/", "/tutorials/")) and "/_/" not in path:
            raise source.error(line, f"link to docs and tutorials by their .md file, not {path!r}")
        try:
            with translation.override(SOURCE_LANGUAGE):
                resolve(path)
        except Resolver404:
            raise source.error(line, f"broken link: no page answers {path!r}") from None
        with translation.override(SOURCE_LANGUAGE):
            url = translate_url(path, source.language) if source.language != SOURCE_LANGUAGE else path
        return url + (f"#{fragment}" if fragment else "")

    def check_anchors(self, rendered: dict[Path, RenderedPage]) -> None:
        for source, line, target, fragment in self.anchor_checks:
            if fragment not in rendered[target.path.resolve()].anchors:
                raise source.error(line, f"broken link: {target.display_path} has no heading with the id #{fragment}")


def _git_dates(root: Path) -> dict[str, datetime]:
    """When each file under ``root`` was last committed, where git knows."""
    try:
        out = subprocess.run(
            ["git", "log", "--format=%x00%ct", "--name-only", "--relative", "--", "."],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    dates: dict[str, datetime] = {}
    stamp: datetime | None = None
    for line in out.splitlines():
        if line.startswith("\x00"):
            stamp = datetime.fromtimestamp(int(line[1:]), tz=UTC)
        elif line.strip() and stamp is not None:
            dates.setdefault(line.strip(), stamp)
    return dates


def _fingerprint(source: SourceFile, latest: str) -> str:
    basis = f"{source.raw_hash}:{RENDER_VERSION}:{latest}"
    return hashlib.sha256(basis.encode()).hexdigest()


def _validate_structure(files: list[SourceFile]) -> None:
    keys = {source.key for source in files}
    for source in files:
        if source.kind == Kind.LESSON and (source.language, source.version, Kind.COURSE, source.course, "") not in keys:
            raise source.error(1, f"the lesson's course has no index.md (tutorials/{source.course}/index.md)")
        if source.language != SOURCE_LANGUAGE:
            english = (SOURCE_LANGUAGE, *source.key[1:])
            if english not in keys:
                raise source.error(1, "a translation needs the English page at the same path")


def content_sync(*, root: Path | None = None, log: Callable[[str], None] | None = None) -> SyncReport:
    """Make the pages in the database match the files under ``root`` (``content/``).

    Idempotent: rows of unchanged files are not written; rows of deleted files are removed.
    Every file is read and checked (front matter, samples, links, images, anchors) before
    anything is written; the first problem raises ``ContentError`` with its file and line
    and leaves the database as it was.
    """
    root = (root or content_dir()).resolve()
    files = read_tree(root)
    _validate_structure(files)
    versions = sorted({s.version for s in files if s.kind == Kind.DOC}, key=_version_key) or ["v1"]
    latest = versions[-1]
    linker = _Linker(root, files, latest)
    link_maps = {source.path.resolve(): linker.resolve(source) for source in files}
    rendered = {
        source.path.resolve(): render_source(source, link_urls=link_maps[source.path.resolve()]) for source in files
    }
    linker.check_anchors(rendered)
    english_hashes = {s.key[1:]: body_hash(s.body) for s in files if s.language == SOURCE_LANGUAGE}

    report = SyncReport()
    existing = {page.source_path: page for page in Page.objects.only("id", "source_path", "source_hash")}
    wanted = {source.display_path for source in files}
    dates: dict[str, datetime] | None = None
    changed_ids: list[int] = []
    with transaction.atomic():
        stale = [path for path in existing if path not in wanted]
        if stale:
            Page.objects.filter(source_path__in=stale).delete()
            report.deleted.extend(sorted(stale))
        for source in files:
            fingerprint = _fingerprint(source, latest)
            page = existing.get(source.display_path)
            if page is not None and page.source_hash == fingerprint:
                report.unchanged += 1
                continue
            if dates is None:
                dates = _git_dates(root)
            updated_at = dates.get(source.rel) or datetime.fromtimestamp(source.path.stat().st_mtime, tz=UTC)
            result = rendered[source.path.resolve()]
            values = _page_values(source, result, fingerprint=fingerprint, updated_at=updated_at)
            values["body_hash"] = english_hashes.get(source.key[1:], "") if source.language == SOURCE_LANGUAGE else ""
            if page is None:
                page = Page.objects.create(**values)
                report.created.append(source.display_path)
            else:
                Page.objects.filter(pk=page.pk).update(**values, updated_at=timezone.now())
                report.updated.append(source.display_path)
            changed_ids.append(page.pk)
        if changed_ids and connection.vendor == "postgresql":
            _update_search_vectors(changed_ids)
    cache.delete(VERSIONS_CACHE_KEY)
    if log:
        log(f"Content: {report.summary()}.")
        for label, paths in (("created", report.created), ("updated", report.updated), ("deleted", report.deleted)):
            for path in paths:
                log(f"  {label} {path}")
    return report


def _page_values(source: SourceFile, result: RenderedPage, *, fingerprint: str, updated_at: datetime) -> dict[str, Any]:
    meta = source.meta
    extra: dict[str, Any] = {}
    if source.kind == Kind.COURSE:
        extra = {
            "level": meta.get("level", "beginner"),
            "duration": meta.get("duration"),
            "prerequisites": meta.get("prerequisites", []),
        }
    elif source.kind == Kind.LESSON:
        extra = {"duration": meta.get("duration")}
    headings = " ".join(result.headings)
    title = meta["title"].strip()
    return {
        "language": source.language,
        "kind": source.kind,
        "version": source.version,
        "slug": source.slug,
        "course": source.course,
        "section": meta.get("section", ""),
        "title": title,
        "summary": meta.get("summary", "").strip(),
        "order": meta.get("order", 0),
        "tags": meta.get("tags", []),
        "draft": meta.get("draft", False),
        "meta": extra,
        "source_path": source.display_path,
        "source_hash": fingerprint,
        "translation_of_hash": meta.get("source_hash", "") if source.language != SOURCE_LANGUAGE else "",
        "content_updated_at": updated_at,
        "body": source.body,
        "html": result.html,
        "toc": result.toc,
        "samples": [sample.as_json() for sample in source.samples],
        "plain_text": result.plain_text,
        "search_title": segment_for_index(title),
        "search_headings": segment_for_index(headings),
        "search_body": segment_for_index(result.plain_text),
    }


def _update_search_vectors(ids: list[int]) -> None:
    from django.contrib.postgres.search import SearchVector

    for language, config in (("en", "english"), ("zh-hans", "simple")):
        Page.objects.filter(pk__in=ids, language=language).update(
            search_vector=SearchVector("search_title", weight="A", config=config)
            + SearchVector("search_headings", weight="B", config=config)
            + SearchVector("search_body", weight="C", config=config)
        )


def lesson_progress_set(*, user: User, course: str, lesson: str, complete: bool) -> None:
    """Mark ``lesson`` of ``course`` complete (or not) for ``user``; repeating is harmless."""
    if complete:
        LessonProgress.objects.get_or_create(user=user, course=course, lesson=lesson)
    else:
        LessonProgress.objects.filter(user=user, course=course, lesson=lesson).delete()


def page_feedback_record(
    *, page: Page, helpful: bool, comment: str, user: Viewer, previous_id: int | None
) -> PageFeedback:
    """Record an answer to "Was this page helpful?". A reader who answers again for the
    same page (``previous_id`` from their session) changes their answer, not the count."""
    comment = comment.strip()[:2000]
    owner = user if user.is_authenticated else None
    if previous_id is not None:
        updated = PageFeedback.objects.filter(pk=previous_id, page=page).update(
            helpful=helpful, comment=comment, user=owner, updated_at=timezone.now()
        )
        if updated:
            return PageFeedback.objects.get(pk=previous_id)
    return PageFeedback.objects.create(page=page, helpful=helpful, comment=comment, user=owner)


__all__ = ["ContentError", "SyncReport", "content_sync", "lesson_progress_set", "page_feedback_record"]
