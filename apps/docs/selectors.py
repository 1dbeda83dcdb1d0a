"""Reads of the docs app. Drafts are visible to staff only (a preview); everyone else
gets nothing, as if the page did not exist."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet

from .content import SOURCE_LANGUAGE
from .models import Kind, LessonProgress, Page, PageFeedback
from .sections import DOC_SECTIONS, section_title

if TYPE_CHECKING:
    from apps.accounts.types import Viewer

LIST_FIELDS = (
    "id", "language", "kind", "version", "slug", "course", "section", "title", "summary", "order", "draft", "meta",
)  # fmt: skip


def _is_staff(viewer: Viewer | None) -> bool:
    return viewer is not None and viewer.is_staff


def pages_visible(*, viewer: Viewer | None) -> QuerySet[Page]:
    pages = Page.objects.all()
    return pages if _is_staff(viewer) else pages.filter(draft=False)


def doc_versions() -> list[str]:
    """API versions that have docs, oldest first (cached until the next sync)."""
    versions: list[str] | None = cache.get("docs:versions")
    if versions is None:
        found = Page.objects.filter(kind=Kind.DOC, draft=False).values_list("version", flat=True).distinct()
        versions = sorted(set(found), key=lambda v: int(v.lstrip("v"))) or ["v1"]
        cache.set("docs:versions", versions, timeout=300)
    return versions


def latest_version() -> str:
    return doc_versions()[-1]


def page_get(
    *, viewer: Viewer | None, language: str, kind: str, version: str = "", slug: str = "", course: str = ""
) -> Page | None:
    """The page in ``language``, or None. Lessons and courses ignore ``version``."""
    filters: dict[str, Any] = {"language": language, "kind": kind, "slug": slug, "course": course}
    if kind == Kind.DOC:
        filters["version"] = version or latest_version()
    return pages_visible(viewer=viewer).filter(**filters).first()


@dataclass
class Translation:
    """What a reader of ``language`` is shown for one page."""

    page: Page  # the page to show (the English one when no translation exists)
    english: Page | None  # the English page, when ``page`` is a translation or a fallback
    missing: bool = False  # no translation: ``page`` is the English original
    outdated: bool = False  # the translation's source_hash is not the English body's hash


def page_for_reader(
    *, viewer: Viewer | None, language: str, kind: str, version: str = "", slug: str = "", course: str = ""
) -> Translation | None:
    """The page for a reader of ``language``: its translation, flagged when out of date, or
    the English page flagged as untranslated. None when neither exists (or is visible)."""
    keys = {"kind": kind, "version": version, "slug": slug, "course": course}
    page = page_get(viewer=viewer, language=language, **keys)
    if language == SOURCE_LANGUAGE:
        return Translation(page=page, english=None) if page else None
    english = page_get(viewer=viewer, language=SOURCE_LANGUAGE, **keys)
    if page is None:
        return Translation(page=english, english=english, missing=True) if english else None
    outdated = english is not None and page.translation_of_hash != english.body_hash
    return Translation(page=page, english=english, outdated=outdated)


@dataclass
class NavSection:
    slug: str
    title: Any
    pages: list[Page] = field(default_factory=list)


def doc_navigation(*, viewer: Viewer | None, language: str, version: str) -> list[NavSection]:
    """The sidebar: docs sections in order, each with its pages in order. Pages missing in
    ``language`` appear in English (their page then shows the untranslated banner)."""
    rows = list(
        pages_visible(viewer=viewer)
        .filter(kind=Kind.DOC, version=version, language__in={language, SOURCE_LANGUAGE})
        .only(*LIST_FIELDS)
    )
    chosen: dict[str, Page] = {}
    for page in rows:
        if page.language == language or page.slug not in chosen:
            chosen[page.slug] = page
    sections = {slug: NavSection(slug=slug, title=title) for slug, title in DOC_SECTIONS.items()}
    for page in chosen.values():
        sections.setdefault(page.section, NavSection(slug=page.section, title=section_title(page.section)))
        sections[page.section].pages.append(page)
    for section in sections.values():
        section.pages.sort(key=lambda p: (p.order, p.title))
    return [section for section in sections.values() if section.pages]


def neighbours(navigation: list[NavSection], page: Page) -> tuple[Page | None, Page | None]:
    flat = [p for section in navigation for p in section.pages]
    for index, candidate in enumerate(flat):
        if candidate.slug == page.slug:
            return (flat[index - 1] if index else None, flat[index + 1] if index + 1 < len(flat) else None)
    return None, None


@dataclass
class CourseCard:
    course: Page
    lessons: list[Page]
    completed: set[str]

    @property
    def total(self) -> int:
        return len(self.lessons)

    @property
    def done(self) -> int:
        return sum(1 for lesson in self.lessons if lesson.slug in self.completed)

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    @property
    def resume(self) -> Page | None:
        """The first lesson not yet completed (None when all are)."""
        return next((lesson for lesson in self.lessons if lesson.slug not in self.completed), None)

    @property
    def started(self) -> bool:
        return self.done > 0

    @property
    def finished(self) -> bool:
        return self.total > 0 and self.done == self.total


def _pick_language(rows: list[Page], language: str, key: Any) -> list[Page]:
    chosen: dict[Any, Page] = {}
    for row in rows:
        if row.language == language or key(row) not in chosen:
            chosen[key(row)] = row
    return list(chosen.values())


def completed_lessons(*, user: Viewer | None, course: str | None = None) -> dict[str, set[str]]:
    if user is None or not user.is_authenticated:
        return {}
    rows = LessonProgress.objects.filter(user=user)
    if course is not None:
        rows = rows.filter(course=course)
    done: dict[str, set[str]] = {}
    for course_slug, lesson in rows.values_list("course", "lesson"):
        done.setdefault(course_slug, set()).add(lesson)
    return done


def course_cards(*, viewer: Viewer | None, language: str, course: str | None = None) -> list[CourseCard]:
    """Courses (all, or one) with their lessons in order and the viewer's progress: three
    queries whatever the number of courses."""
    rows = pages_visible(viewer=viewer).filter(
        kind__in=[Kind.COURSE, Kind.LESSON], language__in={language, SOURCE_LANGUAGE}
    )
    if course is not None:
        rows = rows.filter(course=course)
    rows_list = list(rows.only(*LIST_FIELDS))
    picked = _pick_language(rows_list, language, key=lambda p: (p.kind, p.course, p.slug))
    courses = sorted((p for p in picked if p.kind == Kind.COURSE), key=lambda p: (p.order, p.title))
    done = completed_lessons(user=viewer, course=course)
    cards = []
    for overview in courses:
        lessons = sorted(
            (p for p in picked if p.kind == Kind.LESSON and p.course == overview.course),
            key=lambda p: (p.order, p.slug),
        )
        cards.append(CourseCard(course=overview, lessons=lessons, completed=done.get(overview.course, set())))
    return cards


@dataclass
class StatusRow:
    english: Page
    translations: dict[str, Page | None]
    helpful: int = 0
    unhelpful: int = 0

    def state(self, language: str) -> str:
        page = self.translations.get(language)
        if page is None:
            return "missing"
        return "current" if page.translation_of_hash == self.english.body_hash else "outdated"


def translation_status(*, languages: list[str]) -> list[StatusRow]:
    """Every English page with its translations and feedback counts (staff only)."""
    fields = (*LIST_FIELDS, "body_hash", "translation_of_hash", "source_path", "content_updated_at")
    pages = list(Page.objects.only(*fields).order_by("kind", "course", "section", "order", "slug"))
    counts = {
        row["page"]: row
        for row in PageFeedback.objects.values("page").annotate(
            yes=Count("id", filter=Q(helpful=True)), no=Count("id", filter=Q(helpful=False))
        )
    }
    by_key: dict[tuple[str, str, str, str], dict[str, Page]] = {}
    for page in pages:
        by_key.setdefault((page.version, page.kind, page.course, page.slug), {})[page.language] = page
    rows = []
    for variants in by_key.values():
        english = variants.get(SOURCE_LANGUAGE)
        if english is None:
            continue
        row = StatusRow(english=english, translations={lang: variants.get(lang) for lang in languages})
        for variant in variants.values():
            feedback = counts.get(variant.id)
            if feedback is not None:
                row.helpful += feedback["yes"]
                row.unhelpful += feedback["no"]
        rows.append(row)
    return rows


def doc_version_switcher(*, viewer: Viewer, slug: str, versions: list[str]) -> list[dict[str, Any]]:
    """The version menu of a docs page: ``versions`` (oldest first, as ``doc_versions``
    gives them) newest first, each with ``slug`` when the page exists in that version in
    English, else "" (that version's index). Empty when there is one version; one query
    per version otherwise."""
    if len(versions) <= 1:
        return []
    switcher = []
    for candidate in reversed(versions):
        exists = page_get(viewer=viewer, language=SOURCE_LANGUAGE, kind=Kind.DOC, version=candidate, slug=slug)
        switcher.append({"version": candidate, "slug": slug if exists else "", "latest": candidate == versions[-1]})
    return switcher
