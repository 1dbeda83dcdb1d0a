"""HTML views of the docs: pages, courses and lessons, search, feedback, translation status.

Views parse the request, call one selector or service, and render. Reads go through the
selectors with the viewer, so drafts stay with staff everywhere.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from . import selectors
from .content import IMAGE_SUFFIXES, SOURCE_LANGUAGE, content_dir
from .models import Kind, Page
from .rendering import with_site_url
from .search import SearchFilters, site_search
from .sections import DOC_SECTIONS, FORUM, LEVELS, MODELS, SEARCH_AREAS, TUTORIALS, section_title
from .services import lesson_progress_set, page_feedback_record

FEEDBACK_SESSION_KEY = "docs_feedback"


def _language() -> str:
    return get_language() or SOURCE_LANGUAGE


def _edit_url(page: Page) -> str:
    base = getattr(settings, "DOCS_EDIT_BASE_URL", "")
    return f"{base.rstrip('/')}/{page.source_path}" if base else ""


def _common(request: HttpRequest, shown: selectors.Translation) -> dict[str, Any]:
    page = shown.page
    answered = request.session.get(FEEDBACK_SESSION_KEY, {}).get(str(page.pk))
    return {
        "page": page,
        "translation": shown,
        "edit_url": _edit_url(page),
        "toc": page.toc,
        "page_html": with_site_url(page.html, request.build_absolute_uri("/").rstrip("/")),
        "feedback_answered": answered is not None,
    }


@require_GET
def doc_page(request: HttpRequest, slug: str = "", version: str = "") -> HttpResponse:
    versions = selectors.doc_versions()
    latest = versions[-1]
    if version == latest:
        return redirect("docs:page", slug=slug) if slug else redirect("docs:index")
    version = version or latest
    if version not in versions:
        raise Http404
    shown = selectors.page_for_reader(
        viewer=request.user, language=_language(), kind=Kind.DOC, version=version, slug=slug
    )
    if shown is None:
        raise Http404
    navigation = selectors.doc_navigation(viewer=request.user, language=_language(), version=version)
    previous, following = selectors.neighbours(navigation, shown.page)
    context = {
        **_common(request, shown),
        "navigation": navigation,
        "section_title": section_title(shown.page.section),
        "previous": previous,
        "next": following,
        "versions": selectors.doc_version_switcher(viewer=request.user, slug=slug, versions=versions),
        "version": version,
        "latest_version": latest,
        "old_version": version != latest,
    }
    return render(request, "docs/page.html", context)


@require_GET
def course_list(request: HttpRequest) -> HttpResponse:
    cards = selectors.course_cards(viewer=request.user, language=_language())
    return render(request, "docs/course_list.html", {"cards": cards, "levels": LEVELS})


@require_GET
def course_detail(request: HttpRequest, course: str) -> HttpResponse:
    shown = selectors.page_for_reader(viewer=request.user, language=_language(), kind=Kind.COURSE, course=course)
    if shown is None:
        raise Http404
    cards = selectors.course_cards(viewer=request.user, language=_language(), course=course)
    if not cards:
        raise Http404
    return render(request, "docs/course.html", {**_common(request, shown), "card": cards[0], "levels": LEVELS})


@require_GET
def lesson_detail(request: HttpRequest, course: str, lesson: str) -> HttpResponse:
    shown = selectors.page_for_reader(
        viewer=request.user, language=_language(), kind=Kind.LESSON, course=course, slug=lesson
    )
    cards = selectors.course_cards(viewer=request.user, language=_language(), course=course)
    if shown is None or not cards:
        raise Http404
    card = cards[0]
    slugs = [item.slug for item in card.lessons]
    index = slugs.index(lesson) if lesson in slugs else 0
    context = {
        **_common(request, shown),
        "card": card,
        "position": index + 1,
        "previous": card.lessons[index - 1] if index > 0 else None,
        "next": card.lessons[index + 1] if index + 1 < len(card.lessons) else None,
        "completed": lesson in card.completed,
    }
    return render(request, "docs/lesson.html", context)


@require_POST
def lesson_complete(request: HttpRequest, course: str, lesson: str) -> HttpResponse:
    shown = selectors.page_for_reader(
        viewer=request.user, language=_language(), kind=Kind.LESSON, course=course, slug=lesson
    )
    if shown is None:
        raise Http404
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("docs:lesson", kwargs={"course": course, "lesson": lesson}))
    complete = request.POST.get("action", "complete") != "undo"
    lesson_progress_set(user=request.user, course=course, lesson=lesson, complete=complete)
    if complete:
        messages.success(request, _("Lesson marked as complete."))
        cards = selectors.course_cards(viewer=request.user, language=_language(), course=course)
        following = cards[0].resume if cards else None
        if following is not None:
            return redirect("docs:lesson", course=course, lesson=following.slug)
        return redirect("docs:course", course=course)
    messages.info(request, _("Lesson marked as not complete."))
    return redirect("docs:lesson", course=course, lesson=lesson)


@require_POST
def feedback(request: HttpRequest, page_id: int) -> HttpResponse:
    page = get_object_or_404(selectors.pages_visible(viewer=request.user), pk=page_id)
    answer = request.POST.get("helpful")
    if answer not in ("yes", "no"):
        messages.error(request, _("Choose yes or no."))
    else:
        answered = request.session.get(FEEDBACK_SESSION_KEY, {})
        record = page_feedback_record(
            page=page,
            helpful=answer == "yes",
            comment=request.POST.get("comment", ""),
            user=request.user,
            previous_id=answered.get(str(page.pk)),
        )
        answered[str(page.pk)] = record.pk
        request.session[FEEDBACK_SESSION_KEY] = answered
        messages.success(request, _("Thank you for your feedback."))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = page.get_absolute_url()
    return redirect(back)


@require_GET
def translation_status(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not request.user.is_staff:
        raise Http404
    languages = [code for code, _name in settings.LANGUAGES if code != SOURCE_LANGUAGE]
    rows = selectors.translation_status(languages=languages)
    language_names = dict(settings.LANGUAGES)
    return render(
        request,
        "docs/status.html",
        {"rows": rows, "languages": [(code, language_names[code]) for code in languages]},
    )


@require_GET
def media(request: HttpRequest, path: str) -> FileResponse:
    root = content_dir().resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root) or target.suffix.lower() not in IMAGE_SUFFIXES or not target.is_file():
        raise Http404
    content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    # FileResponse closes the file when the response is done.
    response = FileResponse(Path(target).open("rb"), content_type=content_type)  # noqa: SIM115
    response["Cache-Control"] = "public, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _search_choices(request: HttpRequest, versions: list[str]) -> tuple[str, str, str]:
    """The search form's language (or ``all``), section and version; an unknown value
    falls back to the reader's language, every section, every version."""
    language = request.GET.get("language", _language())
    if language not in dict(settings.LANGUAGES) and language != "all":
        language = _language()
    section = request.GET.get("section", "")
    if section not in DOC_SECTIONS and section not in SEARCH_AREAS:
        section = ""
    version = request.GET.get("version", "")
    return language, section, version if version in versions else ""


def _search_sections() -> list[tuple[str, object]]:
    sections = [(slug, title) for slug, title in DOC_SECTIONS.items()]
    return sections + [(slug, SEARCH_AREAS[slug]) for slug in (TUTORIALS, FORUM, MODELS)]


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    versions = selectors.doc_versions()
    language, section, version = _search_choices(request, versions)
    filters = SearchFilters(section=section, version=version, language="" if language == "all" else language)
    context = {
        "query": query,
        "results": site_search(query=query, viewer=request.user, filters=filters) if query else [],
        "sections": _search_sections(),
        "section": section,
        "versions": versions,
        "version": version,
        "language": language,
        "languages": settings.LANGUAGES,
    }
    return render(request, "docs/search.html", context)
