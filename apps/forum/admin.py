"""The forum in Django's admin (admins only). Categories and tags are managed here, with
every change audited; threads, posts, flags, sanctions and the audit log are read-only so
that every moderation goes through the forum's own pages, its rules and its audit log."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin
from django.http import HttpRequest

from apps.accounts.models import User
from apps.core.admin import ReadOnlyAdmin

from .models import AuditLogEntry, Category, Flag, Post, Sanction, Tag, Thread
from .services.audit import audit_record, snapshot


def _staff(request: HttpRequest) -> User:
    # The admin site lets only signed-in staff in.
    return cast(User, request.user)


CATEGORY_FIELDS = ["slug", "name", "description", "color", "kind", "read_access", "post_access", "position"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "kind", "read_access", "post_access", "color", "position"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}

    def save_model(self, request: HttpRequest, obj: Category, form: Any, change: bool) -> None:
        before = snapshot(Category.objects.get(pk=obj.pk), CATEGORY_FIELDS) if change else {}
        super().save_model(request, obj, form, change)
        audit_record(
            actor=_staff(request),
            action="category.change" if change else "category.create",
            target=obj,
            before=before,
            after=snapshot(obj, CATEGORY_FIELDS),
        )

    def delete_model(self, request: HttpRequest, obj: Category) -> None:
        audit_record(actor=_staff(request), action="category.delete", target=obj, before=snapshot(obj, CATEGORY_FIELDS))
        super().delete_model(request, obj)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["slug", "created_at"]
    search_fields = ["slug"]


@admin.register(Thread)
class ThreadAdmin(ReadOnlyAdmin):
    list_display = ["title", "category", "author", "reply_count", "pin", "is_locked", "is_closed", "bumped_at"]
    list_filter = ["category", "pin", "is_locked", "is_closed"]
    search_fields = ["title"]
    list_select_related = ["category", "author"]


@admin.register(Post)
class PostAdmin(ReadOnlyAdmin):
    list_display = ["thread", "number", "author", "created_at", "held_at", "hidden_at", "deleted_at"]
    search_fields = ["body"]
    list_select_related = ["thread", "author"]
    exclude = ["html"]


@admin.register(Flag)
class FlagAdmin(ReadOnlyAdmin):
    list_display = ["post", "flagger", "reason", "status", "created_at"]
    list_filter = ["status", "reason"]


@admin.register(Sanction)
class SanctionAdmin(ReadOnlyAdmin):
    list_display = ["user", "kind", "reason", "starts_at", "ends_at", "lifted_at"]
    list_filter = ["kind"]


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(ReadOnlyAdmin):
    """Append-only: no add, change or delete, not even for superusers."""

    list_display = ["created_at", "actor_label", "action", "target_type", "target_label", "reason"]
    list_filter = ["action", "target_type"]
    search_fields = ["actor_label", "target_id", "target_label", "reason"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AuditLogEntry._meta.fields]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return {}
