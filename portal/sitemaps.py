"""robots.txt and sitemap.xml: where crawlers may not go, and the public pages to index.

Both are served at the root, outside the language prefix. The sitemap lists every public
page in each language it exists in (English at the root, Simplified Chinese under
/zh-hans/) with hreflang alternates, read through the selectors that decide what a visitor
without an account may see: a draft doc, a held, hidden or deleted thread and a category
only staff may read never appear in it. Absolute URLs carry the request's scheme and host,
as the sitemaps framework builds them without django.contrib.sites.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.http import require_GET

from apps.docs.models import Page
from apps.docs.selectors import pages_visible
from apps.forum.models import Category, Thread
from apps.forum.selectors import category_choices, thread_list
from apps.mlmodels.models import MLModel
from apps.mlmodels.selectors import model_list_visible

# Pages inside the language prefix that are private, per person, or not pages at all
# (forms that post, moderation, the language switch). Robots.txt matches by prefix.
PRIVATE_PAGE_PATHS = (
    "/admin/",
    "/accounts/",
    "/account/",
    "/i18n/",
    "/search/",
    "/playground/api/",
    "/playground/runs/",
    "/forum/new/",
    "/forum/preview/",
    "/forum/notifications/",
    "/forum/settings/",
    "/forum/unsubscribe/",
    "/forum/review/",
    "/forum/sanctions/",
    "/forum/audit/",
)
# Outside the language prefix: the REST API and its reference.
PRIVATE_ROOT_PATHS = ("/api/",)


def _language_prefixes() -> list[str]:
    """The path each language's pages start with: "" for English, "/zh-hans" for Chinese."""
    prefixes = []
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            prefixes.append(reverse("home").rstrip("/"))
    return prefixes


@require_GET
def robots_txt(request: HttpRequest) -> HttpResponse:
    """/robots.txt: the private paths in every language, and the sitemap's absolute URL."""
    disallow = [*PRIVATE_ROOT_PATHS]
    disallow += [prefix + path for prefix in _language_prefixes() for path in PRIVATE_PAGE_PATHS]
    context = {"disallow": disallow, "sitemap_url": request.build_absolute_uri(reverse("sitemap"))}
    return render(request, "robots.txt", context, content_type="text/plain; charset=utf-8")


class _EveryLanguage(Sitemap):
    """Each item once per language in ``settings.LANGUAGES``, with hreflang alternates and
    x-default (the English page)."""

    i18n = True
    alternates = True
    x_default = True


class StaticSitemap(_EveryLanguage):
    changefreq = "weekly"

    def items(self) -> list[str]:
        return ["home", "docs:tutorials", "mlmodels:list", "playground:index", "forum:index", "forum:categories"]

    def location(self, item: str) -> str:
        return reverse(item)


@dataclass
class PageTranslations:
    """One docs page, course or lesson: its row in each language it is written in."""

    rows: dict[str, Page]


class DocsSitemap(_EveryLanguage):
    """Docs pages (every API version), course overviews and lessons; a page is listed in a
    language only where it is written in it (an untranslated page under /zh-hans/ shows
    the English text)."""

    changefreq = "weekly"

    def items(self) -> list[PageTranslations]:
        pages = pages_visible(viewer=None).only("language", "kind", "version", "course", "slug", "content_updated_at")
        grouped: dict[tuple[str, str, str, str], dict[str, Page]] = {}
        for page in pages:
            grouped.setdefault((page.kind, page.version, page.course, page.slug), {})[page.language] = page
        return [PageTranslations(rows) for rows in grouped.values()]

    def get_languages_for_item(self, item: PageTranslations) -> list[str]:
        return [code for code, _name in settings.LANGUAGES if code in item.rows]

    def location(self, item: PageTranslations) -> str:
        # Called with the language of the URL being built active.
        return item.rows[translation.get_language()].get_absolute_url()

    def lastmod(self, item: PageTranslations) -> datetime:
        return max(row.content_updated_at for row in item.rows.values())


class ModelSitemap(_EveryLanguage):
    """Model cards of every model with a version a visitor may see."""

    changefreq = "weekly"

    def items(self) -> list[MLModel]:
        return [model for model, _version in model_list_visible(viewer=None)]


class ForumCategorySitemap(_EveryLanguage):
    changefreq = "daily"

    def items(self) -> list[Category]:
        return category_choices(viewer=None)


class ForumThreadSitemap(_EveryLanguage):
    """Threads a visitor without an account sees listed, newest activity first."""

    changefreq = "daily"

    def items(self) -> Any:
        return thread_list(viewer=None).order_by("-bumped_at", "pk")

    def lastmod(self, item: Thread) -> datetime:
        return item.bumped_at


# Classes, not instances: the sitemap view builds one per request.
SITEMAPS: dict[str, type[Sitemap]] = {
    "pages": StaticSitemap,
    "docs": DocsSitemap,
    "models": ModelSitemap,
    "forum-categories": ForumCategorySitemap,
    "forum-threads": ForumThreadSitemap,
}
