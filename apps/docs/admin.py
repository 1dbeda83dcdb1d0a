from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import LessonProgress, Page, PageFeedback


@admin.register(Page)
class PageAdmin(admin.ModelAdmin):
    """Read-only: pages come from content/ through ``sync_content``; edit the files."""

    list_display = ("title", "language", "kind", "section", "course", "version", "draft", "helpful", "unhelpful")
    list_filter = ("language", "kind", "section", "version", "draft")
    search_fields = ("title", "slug", "course", "source_path")
    readonly_fields = [f.name for f in Page._meta.fields if f.name != "search_vector"]
    exclude = ("search_vector",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Page]:
        return (
            super()
            .get_queryset(request)
            .defer("body", "html", "plain_text", "search_title", "search_headings", "search_body", "search_vector")
            .annotate(
                yes=Count("feedback", filter=Q(feedback__helpful=True)),
                no=Count("feedback", filter=Q(feedback__helpful=False)),
            )
        )

    @admin.display(description=_("helpful"), ordering="yes")
    def helpful(self, page: Page) -> int:
        return page.yes  # type: ignore[attr-defined]  # annotated above

    @admin.display(description=_("not helpful"), ordering="no")
    def unhelpful(self, page: Page) -> int:
        return page.no  # type: ignore[attr-defined]  # annotated above

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Page | None = None) -> bool:
        return False


@admin.register(PageFeedback)
class PageFeedbackAdmin(admin.ModelAdmin):
    list_display = ("page", "helpful", "comment", "user", "created_at")
    list_filter = ("helpful", "page__language")
    search_fields = ("comment", "page__title")
    list_select_related = ("page", "user")
    readonly_fields = ("page", "helpful", "comment", "user", "created_at")


@admin.register(LessonProgress)
class LessonProgressAdmin(admin.ModelAdmin):
    list_display = ("user", "course", "lesson", "created_at")
    list_filter = ("course",)
    search_fields = ("user__email", "course", "lesson")
    list_select_related = ("user",)
