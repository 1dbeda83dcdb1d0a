"""Docs, tutorials and courses synced from ``content/``, plus what readers leave behind.

A ``Page`` is one Markdown file in one language: a docs page (``kind=doc``), a course
overview (``kind=course``) or a lesson (``kind=lesson``, with ``course`` set to its
course's slug). Pages are written only by ``sync_content``; everything else reads them.

JSON shapes:
- ``Page.toc``: Python-Markdown's ``toc_tokens`` (``[{"level", "id", "name", "children"}]``).
- ``Page.meta``: course front matter (``level``, ``duration``, ``prerequisites``); lesson
  ``duration``; empty for docs.
- ``Page.samples``: the code samples of the page in source order, as the sync found them:
  ``[{"id", "lang", "check", "line", "playground": {"model", "inputs"}?}]``.

Progress is keyed by course and lesson slug, not by page row, so it survives a sync and is
shared by both languages.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from apps.core.models import BaseModel


class Kind(models.TextChoices):
    DOC = "doc", _("Documentation")
    COURSE = "course", _("Course")
    LESSON = "lesson", _("Lesson")


class Page(BaseModel):
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.DOC)
    version = models.CharField(_("API version"), max_length=10, default="v1")
    # The URL path below /docs/ (docs) or the lesson slug (lessons); "" for the docs index
    # and for course overviews.
    slug = models.CharField(_("slug"), max_length=200, blank=True)
    course = models.CharField(_("course"), max_length=100, blank=True)
    section = models.CharField(_("section"), max_length=60, blank=True)
    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(_("summary"), max_length=400, blank=True)
    order = models.IntegerField(_("order"), default=0)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    draft = models.BooleanField(_("draft"), default=False)
    meta = models.JSONField(default=dict, blank=True)

    source_path = models.CharField(_("source file"), max_length=300, unique=True)
    source_hash = models.CharField(max_length=64)
    body_hash = models.CharField(max_length=12, help_text=_("What a translation's source_hash must name."))
    translation_of_hash = models.CharField(max_length=12, blank=True)
    content_updated_at = models.DateTimeField(_("last updated"))

    body = models.TextField()
    html = models.TextField()
    toc = models.JSONField(default=list, blank=True)
    samples = models.JSONField(default=list, blank=True)

    # Search: the plain text of the body (for snippets), and the title, headings and body
    # as the search index sees them (Chinese segmented into words separated by spaces, so
    # PostgreSQL's parser sees words). On PostgreSQL the sync builds ``search_vector`` from
    # them with weights title A, headings B, body C; it stays NULL on SQLite.
    plain_text = models.TextField(blank=True)
    search_title = models.TextField(blank=True)
    search_headings = models.TextField(blank=True)
    search_body = models.TextField(blank=True)
    search_vector = SearchVectorField(null=True, blank=True)

    class Meta:
        verbose_name = _("page")
        verbose_name_plural = _("pages")
        ordering = ["language", "kind", "section", "order", "slug"]
        constraints = [
            models.UniqueConstraint(fields=["language", "version", "kind", "course", "slug"], name="docs_page_unique"),
            models.CheckConstraint(
                condition=~models.Q(kind="lesson") | ~models.Q(course=""), name="docs_lesson_has_course"
            ),
        ]
        indexes = [
            models.Index(fields=["language", "kind", "version"], name="docs_page_lookup"),
        ]

    def __str__(self) -> str:
        return f"{self.language}: {self.title}"

    @property
    def is_doc(self) -> bool:
        return self.kind == Kind.DOC

    def url_kwargs(self) -> tuple[str, dict[str, str]]:
        if self.kind == Kind.COURSE:
            return "docs:course", {"course": self.course}
        if self.kind == Kind.LESSON:
            return "docs:lesson", {"course": self.course, "lesson": self.slug}
        if not self.slug:
            return "docs:index", {}
        return "docs:page", {"slug": self.slug}

    def get_absolute_url(self) -> str:
        """The page's URL in its own language (and version, when it is not the newest)."""
        from django.utils import translation

        from .selectors import latest_version

        name, kwargs = self.url_kwargs()
        with translation.override(self.language):
            if self.kind == Kind.DOC and self.version != latest_version():
                if self.slug:
                    return reverse("docs:versioned_page", kwargs={"version": self.version, "slug": self.slug})
                return reverse("docs:versioned_index", kwargs={"version": self.version})
            return reverse(name, kwargs=kwargs)


class LessonProgress(BaseModel):
    """A developer marked ``lesson`` of ``course`` complete."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lesson_progress")
    course = models.CharField(max_length=100)
    lesson = models.CharField(max_length=200)

    class Meta:
        verbose_name = _("completed lesson")
        verbose_name_plural = _("completed lessons")
        constraints = [
            models.UniqueConstraint(fields=["user", "course", "lesson"], name="docs_progress_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.course}/{self.lesson}"


class PageFeedback(BaseModel):
    """One "Was this page helpful?" answer."""

    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="feedback")
    helpful = models.BooleanField(_("helpful"))
    comment = models.TextField(_("comment"), max_length=2000, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = _("page feedback")
        verbose_name_plural = _("page feedback")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.page_id}: {'yes' if self.helpful else 'no'}"
