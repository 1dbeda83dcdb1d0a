"""Admin for API keys: plans (editable), keys (issue, revoke, idle and never-used flags),
key requests (approve or deny), and the read-only audit log and usage records.

Every change goes through the services, so it lands in the audit log; nothing here edits
a key row directly. ``hashed_key`` is never shown. Pages pass the site's strict
Content-Security-Policy (no inline scripts or style attributes).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.widgets import AdminBigIntegerFieldWidget
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.core.admin import ReadOnlyAdmin
from apps.core.net import client_ip
from apps.mlmodels.selectors import model_list_public

from .forms import DecisionNoteForm, IssueKeyForm, RevokeReasonForm
from .models import APIKey, KeyEvent, KeyRequest, KeyStatus, Plan, RequestStatus, UsageDaily, UsageRecord
from .services import apikey_issue_and_notify, apikey_revoke, key_request_decide

IDLE_AFTER = timedelta(days=30)


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "requests_per_minute", "inputs_per_month", "max_concurrent_jobs", "is_default",
                    "order", "key_count"]  # fmt: skip
    list_editable = ["requests_per_minute", "inputs_per_month", "max_concurrent_jobs", "order"]
    prepopulated_fields = {"slug": ["name"]}
    ordering = ["order", "slug"]
    # Django's 10em box (its own stylesheet, so no style attribute): room for 1,000,000 and more.
    formfield_overrides = {models.PositiveIntegerField: {"widget": AdminBigIntegerFieldWidget}}

    @admin.display(description=_("keys"))
    def key_count(self, obj: Plan) -> str:
        return intcomma(obj.keys.count())

    def construct_change_message(self, request: HttpRequest, form: Any, formsets: Any, add: bool = False) -> Any:
        """What an edit changed, old and new values (the change form and the list's boxes
        both save through here): "Changed inputs per month from 100000 to 1000000."."""
        if add or not form.changed_data:
            return super().construct_change_message(request, form, formsets, add)
        with translation.override("en"):
            changes = [
                f"{str(form.fields[name].label or name).lower()} from {form.initial.get(name)} "
                f"to {form.cleaned_data.get(name)}"
                for name in form.changed_data
            ]
        return "Changed " + "; ".join(changes) + "."


# ---------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------
class KeyStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [*KeyStatus.choices, ("awaiting", _("Awaiting reveal"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[APIKey]) -> QuerySet[APIKey]:
        now = timezone.now()
        match self.value():
            case KeyStatus.ACTIVE:
                return queryset.filter(revoked_at__isnull=True, expires_at__gt=now)
            case KeyStatus.REVOKED:
                return queryset.filter(revoked_at__isnull=False)
            case KeyStatus.EXPIRED:
                return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
            case "awaiting":
                return queryset.filter(awaiting_reveal=True)
        return queryset


class KeyUseFilter(admin.SimpleListFilter):
    title = _("use")
    parameter_name = "use"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("idle", _("Idle (unused 30+ days)")), ("never", _("Never used"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[APIKey]) -> QuerySet[APIKey]:
        cutoff = timezone.now() - IDLE_AFTER
        if self.value() == "idle":
            # Working keys unused for 30 days: used long ago, or never used and 30+ days old.
            return queryset.filter(
                Q(last_used_at__lt=cutoff) | Q(last_used_at__isnull=True, created_at__lt=cutoff)
            ).filter(revoked_at__isnull=True, expires_at__gt=timezone.now())
        if self.value() == "never":
            return queryset.filter(last_used_at__isnull=True)
        return queryset


@admin.register(APIKey)
class APIKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix_display", "name", "owner_email", "plan", "status_display", "last_used_at", "flags",
                    "expires_at", "created_at"]  # fmt: skip
    list_filter = [KeyStatusFilter, KeyUseFilter, "plan"]
    list_select_related = ["owner", "plan"]
    search_fields = ["key_id", "owner__email", "name"]
    search_help_text = _("A key prefix (pk_… or the 8 characters after it), an email address or a key name.")
    ordering = ["-created_at"]
    actions = ["revoke_selected"]
    # hashed_key is deliberately absent from every list, form and search.
    fields = (
        "prefix_display", "name", "owner", "status_display", "scopes", "allowed_models", "plan", "rpm_override",
        "quota_override", "concurrency_override", "expires_at", "revoked_at", "revoked_reason", "last_used_at",
        "last_used_ip", "created_by", "replaced_by", "awaiting_reveal", "created_at", "audit_log",
    )  # fmt: skip
    readonly_fields = fields

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Read-only: keys change only through the services (issue, revoke), which audit.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoke instead: a deleted key would take its usage and audit trail

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("apikeys.change_apikey")

    @admin.display(description=_("key"), ordering="key_id")
    def prefix_display(self, obj: APIKey) -> str:
        return f"{obj.prefix}…"

    @admin.display(description=_("owner"), ordering="owner__email")
    def owner_email(self, obj: APIKey) -> str:
        return obj.owner.email

    @admin.display(description=_("status"))
    def status_display(self, obj: APIKey) -> str:
        if obj.awaiting_reveal and obj.status == KeyStatus.ACTIVE:
            return str(_("Awaiting reveal"))
        return str(KeyStatus(obj.status).label)

    @admin.display(description=_("flags"))
    def flags(self, obj: APIKey) -> str:
        cutoff = timezone.now() - IDLE_AFTER
        found = []
        if obj.last_used_at is None:
            found.append(str(_("never used")))
        if (obj.last_used_at or obj.created_at) < cutoff and obj.status == KeyStatus.ACTIVE:
            found.append(str(_("idle (unused 30+ days)")))
        return ", ".join(found) or "—"

    @admin.display(description=_("audit log"))
    def audit_log(self, obj: APIKey) -> str:
        url = reverse("admin:apikeys_keyevent_changelist") + "?" + urlencode({"key_prefix": obj.prefix})
        return format_html('<a href="{}">{}</a>', url, _("Events of this key"))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[APIKey], search_term: str
    ) -> tuple[QuerySet[APIKey], bool]:
        term = search_term.strip().rstrip("…").removeprefix("pk_")
        if "_" in term:  # a whole key pasted in: search by its id only
            term = term.split("_", 1)[0]
        return super().get_search_results(request, queryset, term)

    # Issue a key ------------------------------------------------------------------------
    def get_urls(self) -> list[Any]:
        issue = path("issue/", self.admin_site.admin_view(self.issue_view), name="apikeys_apikey_issue")
        return [issue, *super().get_urls()]

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:apikeys_apikey_issue"))

    def issue_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        choices = [(m.slug, f"{m.name} ({m.slug})") for m in model_list_public()]
        form = IssueKeyForm(request.POST or None, model_choices=choices)
        if request.method == "POST" and form.is_valid():
            try:
                key = apikey_issue_and_notify(actor=request.user, ip=client_ip(request), **form.service_options())
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                self.message_user(
                    request,
                    _("Issued %(prefix)s… to %(email)s. They were emailed a one-time link and will see the key "
                      "on their API keys page.") % {"prefix": key.prefix, "email": key.owner.email},
                    messages.SUCCESS,
                )  # fmt: skip
                return HttpResponseRedirect(reverse("admin:apikeys_apikey_change", args=[key.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": _("Issue a key"),
        }
        return TemplateResponse(request, "admin/apikeys/apikey/issue.html", context)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return super().changelist_view(request, {**(extra_context or {}), "title": _("API keys")})

    # Revoke -----------------------------------------------------------------------------
    @admin.action(description=_("Revoke the selected keys…"), permissions=["revoke"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[APIKey]) -> HttpResponse | None:
        form = RevokeReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            revoked = 0
            for key in queryset.filter(revoked_at__isnull=True):
                apikey_revoke(key=key, actor=request.user, reason=form.cleaned_data["reason"], ip=client_ip(request))
                revoked += 1
            self.message_user(request, ngettext("%(n)d key revoked.", "%(n)d keys revoked.", revoked) % {"n": revoked})
            return None
        return _action_page(
            request, self, queryset, form, action="revoke_selected", title=_("Revoke keys"),
            button=_("Revoke"), danger=True,
        )  # fmt: skip


# ---------------------------------------------------------------------------------------
# Key requests
# ---------------------------------------------------------------------------------------
@admin.register(KeyRequest)
class KeyRequestAdmin(admin.ModelAdmin):
    list_display = ["user_email", "plan", "status", "short_reason", "created_at", "decided_by", "decided_at"]
    list_filter = ["status", "plan"]
    list_select_related = ["user", "plan", "decided_by"]
    search_fields = ["user__email", "reason"]
    ordering = ["-created_at"]
    actions = ["approve_selected", "deny_selected"]
    fields = ("user", "plan", "reason", "status", "created_at", "decided_by", "decided_at", "note")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # developers ask on their API keys page

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # decided through the actions, which email the user

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("apikeys.change_keyrequest")

    @admin.display(description=_("user"), ordering="user__email")
    def user_email(self, obj: KeyRequest) -> str:
        return obj.user.email

    @admin.display(description=_("reason"))
    def short_reason(self, obj: KeyRequest) -> str:
        return obj.reason if len(obj.reason) <= 80 else obj.reason[:79] + "…"

    def _decide(self, request: HttpRequest, queryset: QuerySet[KeyRequest], *, approve: bool) -> HttpResponse | None:
        action = "approve_selected" if approve else "deny_selected"
        form = DecisionNoteForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            decided = 0
            for item in queryset.filter(status=RequestStatus.PENDING):
                try:
                    key_request_decide(
                        request=item, actor=request.user, approve=approve, note=form.cleaned_data["note"]
                    )
                except ValidationError:
                    continue  # decided meanwhile by someone else
                decided += 1
            skipped = queryset.count() - decided
            text = ngettext("%(n)d request decided; the user was told.", "%(n)d requests decided; the users were told.",
                            decided) % {"n": decided}  # fmt: skip
            if skipped:
                text += " " + ngettext(
                    "%(n)d was already decided and left alone.", "%(n)d were already decided and left alone.", skipped
                ) % {"n": skipped}
            self.message_user(request, text)
            return None
        title = _("Approve requests") if approve else _("Deny requests")
        button = _("Approve") if approve else _("Deny")
        return _action_page(
            request, self, queryset.select_related("user", "plan"), form, action=action, title=title, button=button,
            danger=not approve,
        )  # fmt: skip

    @admin.action(description=_("Approve the selected requests…"), permissions=["decide"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[KeyRequest]) -> HttpResponse | None:
        return self._decide(request, queryset, approve=True)

    @admin.action(description=_("Deny the selected requests…"), permissions=["decide"])
    def deny_selected(self, request: HttpRequest, queryset: QuerySet[KeyRequest]) -> HttpResponse | None:
        return self._decide(request, queryset, approve=False)


def _action_page(
    request: HttpRequest,
    model_admin: admin.ModelAdmin,
    queryset: QuerySet[Any],
    form: Any,
    *,
    action: str,
    title: Any,
    button: Any,
    danger: bool,
) -> TemplateResponse:
    """The intermediate page of an action that asks for a reason or a note."""
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": title,
        "objects": list(queryset),
        "form": form,
        "action": action,
        "button": button,
        "danger": danger,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/apikeys/action_form.html", context)


# ---------------------------------------------------------------------------------------
# Read-only records
# ---------------------------------------------------------------------------------------
@admin.register(KeyEvent)
class KeyEventAdmin(ReadOnlyAdmin):
    """The append-only audit log: who did what to which key, when and from where."""

    list_display = ["created_at", "key_prefix", "action", "actor", "ip", "details_text"]
    list_filter = ["action", ("actor", admin.RelatedOnlyFieldListFilter), ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["actor"]
    search_fields = ["key_prefix", "actor__email", "action"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    fields = ("created_at", "key_prefix", "key", "action", "actor", "ip", "details_text")
    readonly_fields = fields

    @admin.display(description=_("details"))
    def details_text(self, obj: KeyEvent) -> str:
        return ", ".join(f"{name}: {value}" for name, value in sorted(obj.details.items())) or "—"


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin):
    fields = ("created_at", "key", "user", "endpoint", "status_code", "error_type", "inputs", "latency_ms",
              "queue_ms", "inference_ms")  # fmt: skip
    list_display = fields
    list_filter = ["status_code", "endpoint", "error_type"]
    list_select_related = ["key", "user"]
    search_fields = ["key__key_id", "user__email", "endpoint"]
    ordering = ["-created_at"]
    show_full_result_count = False  # a large table: skip the second COUNT(*)
    readonly_fields = fields


@admin.register(UsageDaily)
class UsageDailyAdmin(ReadOnlyAdmin):
    fields = ("day", "key", "requests", "inputs", "errors", "p50_queue_ms", "p95_queue_ms", "p50_inference_ms",
              "p95_inference_ms")  # fmt: skip
    list_display = fields
    list_select_related = ["key"]
    search_fields = ["key__key_id", "key__owner__email"]
    date_hierarchy = "day"
    ordering = ["-day"]
    readonly_fields = fields
