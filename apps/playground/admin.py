from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Run


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    """Read-only: runs are made by the playground and deleted by their owners."""

    list_display = ["created_at", "owner", "model_version", "first_input", "input_count", "shared"]
    list_filter = ["shared", "created_at"]
    search_fields = ["owner__email", "owner__username", "first_input"]
    list_select_related = ["owner", "job__model_version__model"]
    readonly_fields = [f.name for f in Run._meta.fields]
    date_hierarchy = "created_at"

    @admin.display(description=_("model"))
    def model_version(self, run: Run) -> str:
        return str(run.job.model_version)

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
