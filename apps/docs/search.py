"""Site search at /search/: docs and tutorials, forum threads and published models.

On PostgreSQL pages are matched against their weighted vector (title A > headings B >
body C; English stemmed, Chinese segmented by jieba and matched word for word) and
ranked with ``ts_rank``. On SQLite (the embedded default) every query word must occur in
the title, headings or body, and pages are scored title 10 > headings 4 > body 1 per word.
Snippets are cut from the page's plain text around the first match, with the matched
words in ``<mark>``; the same code serves both databases.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from apps.forum.selectors import thread_search
from apps.mlmodels.selectors import model_list_public

from .models import Kind, Page
from .sections import FORUM, MODELS, TUTORIALS, section_title
from .selectors import pages_visible
from .text import has_cjk, query_terms

if TYPE_CHECKING:
    from apps.accounts.types import Viewer

logger = logging.getLogger(__name__)

MAX_QUERY = 200
SNIPPET_CHARS = 220
PAGE_FIELDS = (
    "id",
    "language",
    "kind",
    "version",
    "slug",
    "course",
    "section",
    "title",
    "summary",
    "order",
    "plain_text",
)


@dataclass(frozen=True)
class SearchFilters:
    section: str = ""  # a docs section slug, "tutorials", "forum", "models-registry" or "" (all)
    version: str = ""  # "" for every version
    language: str = ""  # "" for every language


def _term_pattern(term: str) -> str:
    if has_cjk(term):
        return re.escape(term)
    # English words match their inflections: "keys" finds "key", "rotating" finds "rotate".
    stem = term
    for suffix in ("ing", "ed", "es", "s"):
        if len(stem) > len(suffix) + 3 and stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return rf"\b{re.escape(stem)}\w*"


def highlight(text: str, terms: list[str], *, limit: int = SNIPPET_CHARS) -> SafeString:
    """A window of ``text`` around the first match with every match in ``<mark>``, escaped."""
    if not terms:
        return mark_safe(escape(text[:limit]))  # noqa: S308 (escaped just above)
    pattern = re.compile("|".join(_term_pattern(t) for t in sorted(terms, key=len, reverse=True)), re.I)
    first = pattern.search(text)
    start = 0
    if first and first.start() > limit // 3:
        start = first.start() - limit // 3
        space = text.rfind(" ", 0, start)
        start = space + 1 if space > start - 20 else start
    window = text[start : start + limit]
    pieces: list[str] = []
    last = 0
    for match in pattern.finditer(window):
        pieces.append(escape(window[last : match.start()]))
        pieces.append(f"<mark>{escape(match.group(0))}</mark>")
        last = match.end()
    pieces.append(escape(window[last:]))
    prefix = "… " if start else ""
    suffix = " …" if start + limit < len(text) else ""
    return mark_safe(prefix + "".join(pieces) + suffix)  # noqa: S308 (every piece is escaped)


def _pages(*, viewer: Viewer | None, filters: SearchFilters) -> QuerySet[Page]:
    pages = pages_visible(viewer=viewer)
    if filters.language:
        pages = pages.filter(language=filters.language)
    if filters.version:
        pages = pages.filter(version=filters.version)
    if filters.section == TUTORIALS:
        pages = pages.filter(kind__in=[Kind.COURSE, Kind.LESSON])
    elif filters.section:
        pages = pages.filter(kind=Kind.DOC, section=filters.section)
    return pages


def _postgres_pages(pages: QuerySet[Page], query: str, terms: list[str], limit: int) -> list[Page]:
    from django.contrib.postgres.search import SearchQuery, SearchRank
    from django.db.models import Case, F, FloatField, When

    english = SearchQuery(query, config="english", search_type="websearch")
    chinese = SearchQuery(" ".join(terms), config="simple", search_type="plain")
    matched = pages.filter(
        Q(language="en", search_vector=english) | Q(language="zh-hans", search_vector=chinese)
    ).annotate(
        rank=Case(
            When(language="en", then=SearchRank(F("search_vector"), english)),
            default=SearchRank(F("search_vector"), chinese),
            output_field=FloatField(),
        )
    )
    return list(matched.only(*PAGE_FIELDS).order_by("-rank", "order", "title")[:limit])


def _fallback_pages(pages: QuerySet[Page], terms: list[str], limit: int) -> list[Page]:
    for term in terms:
        pages = pages.filter(
            Q(search_title__icontains=term) | Q(search_headings__icontains=term) | Q(plain_text__icontains=term)
        )
    rows = list(pages.only(*PAGE_FIELDS, "search_title", "search_headings"))

    def score(page: Page) -> int:
        total = 0
        for term in terms:
            total += 10 * (term in page.search_title.lower())
            total += 4 * (term in page.search_headings.lower())
            total += min(page.plain_text.lower().count(term), 3)
        return total

    rows.sort(key=lambda page: (-score(page), page.order, page.title))
    return rows[:limit]


def _page_result(page: Page, terms: list[str]) -> dict[str, Any]:
    if page.kind == Kind.DOC:
        where = section_title(page.section)
    else:
        where = section_title(TUTORIALS) if page.kind == Kind.COURSE else page.course
    return {
        "kind": "tutorial" if page.kind != Kind.DOC else "doc",
        "title": page.title,
        "url": page.get_absolute_url(),
        "snippet": highlight(page.plain_text or page.summary, terms),
        "language": page.language,
        "section": where,
        "version": page.version,
    }


def _forum_results(*, query: str, viewer: Viewer | None, limit: int) -> list[dict[str, Any]]:
    results = []
    for row in thread_search(query=query, viewer=viewer, limit=limit):
        results.append({**row, "kind": "forum", "snippet": mark_safe(row.get("snippet", ""))})  # noqa: S308 (the forum's contract: safe HTML)
    return results


def _model_results(*, terms: list[str], limit: int) -> list[dict[str, Any]]:
    models = model_list_public()
    for term in terms:
        models = models.filter(Q(slug__icontains=term) | Q(name__icontains=term) | Q(description__icontains=term))
    results = []
    for model in models[:limit]:
        results.append(
            {
                "kind": "model",
                "title": f"{model.name} ({model.slug})",
                "url": model.get_absolute_url(),
                "snippet": highlight(model.description, terms),
                "language": "",
                "section": "",
                "version": "",
            }
        )
    return results


def site_search(*, query: str, viewer: Viewer | None, filters: SearchFilters, limit: int = 30) -> list[dict[str, Any]]:
    """Results for ``query`` as dicts ``{"kind", "title", "url", "snippet" (safe HTML),
    "language", "section", "version"}``: pages best first, then forum threads, then models."""
    query = query.strip()[:MAX_QUERY]
    terms = query_terms(query)
    if not terms:
        return []
    results: list[dict[str, Any]] = []
    if filters.section not in (FORUM, MODELS):
        pages = _pages(viewer=viewer, filters=filters)
        if connection.vendor == "postgresql":
            found = _postgres_pages(pages, query, terms, limit)
        else:
            found = _fallback_pages(pages, terms, limit)
        results.extend(_page_result(page, terms) for page in found)
    if filters.section in ("", FORUM) and not filters.version:
        forum = _forum_results(query=query, viewer=viewer, limit=10)
        if filters.language:
            forum = [row for row in forum if row.get("language") in ("", filters.language)]
        results.extend(forum)
    if filters.section in ("", MODELS) and not filters.version:
        results.extend(_model_results(terms=terms, limit=10))
    return results
