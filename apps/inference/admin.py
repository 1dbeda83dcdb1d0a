from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from .models import InferenceJob
from .selectors import inference_stats


@admin.register(InferenceJob)
class InferenceJobAdmin(admin.ModelAdmin):
    """Jobs are written by the inference service and workers only: read-only here."""

    list_display = ["id", "status", "model_version", "owner", "source", "queued_at", "inference_ms", "batch_size",
                    "attempts", "worker"]  # fmt: skip
    list_filter = ["status", "source", "model_version__model"]
    search_fields = ["id", "owner__email", "worker"]
    list_select_related = ["model_version__model", "owner"]
    date_hierarchy = "queued_at"
    change_list_template = "admin/inference/inferencejob/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        status = path("status/", self.admin_site.admin_view(self.status_view), name="inference_status")
        return [status, *super().get_urls()]

    def status_view(self, request: HttpRequest) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": _("Inference status"),
            "stats": inference_stats(minutes=15),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/inference/status.html", context)
