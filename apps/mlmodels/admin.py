"""Admin for the model registry: versions' life cycle, metrics, and training runs.

Pages pass the site's strict Content-Security-Policy: no inline scripts or style
attributes. Progress is an HTML ``<progress>`` element; a queued or running run's page
reloads itself every 5 s through a ``<meta http-equiv="refresh">`` (change_form template).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.accounts.models import User

from .charts import confusion_matrix_svg, training_curve_svg
from .models import MLModel, ModelVersion, TrainingRun, TrainingStatus
from .services import (
    InvalidTransition,
    model_version_deprecate,
    model_version_publish,
    model_version_quantize_start,
    model_version_retire,
    training_run_start,
)
from .training.config import DEVICES, TrainingConfig

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def _staff(request: HttpRequest) -> User:
    # The admin site lets only signed-in staff in.
    return cast(User, request.user)


def _pct(value: Any) -> str:
    return f"{value * 100:.1f} %" if isinstance(value, int | float) else "—"


class ModelVersionInline(admin.TabularInline):
    model = ModelVersion
    fields = readonly_fields = ("version", "status", "accuracy", "test_accuracy", "created_at", "published_at")
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ["-version"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("eval accuracy"))
    def accuracy(self, obj: ModelVersion) -> str:
        return _pct(obj.metrics.get("accuracy"))

    @admin.display(description=_("test accuracy"))
    def test_accuracy(self, obj: ModelVersion) -> str:
        return _pct((obj.metrics.get("test") or {}).get("accuracy"))


@admin.register(MLModel)
class MLModelAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "task", "label_list", "version_count"]
    search_fields = ["slug", "name", "description"]
    fields = ["slug", "name", "task", "labels", "description", "example_inputs"]
    readonly_fields = ["slug", "task", "labels"]
    inlines = [ModelVersionInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Models come from training (a run registers the model with its labels).
        return False

    @admin.display(description=_("labels"))
    def label_list(self, obj: MLModel) -> str:
        return ", ".join(obj.labels)

    @admin.display(description=_("versions"))
    def version_count(self, obj: MLModel) -> int:
        return obj.versions.count()

    def get_queryset(self, request: HttpRequest) -> QuerySet[MLModel]:
        return super().get_queryset(request).prefetch_related("versions")


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "status", "accuracy", "macro_f1", "test_accuracy", "created_at", "published_at"]
    list_filter = ["status", "model"]
    list_select_related = ["model"]
    search_fields = ["model__slug", "model__name"]
    actions = ["publish", "deprecate", "retire", "build_int8"]
    fieldsets = [
        (None, {"fields": ["model", "version", "status", "published_at", "deprecated_at", "retired_at"]}),
        (_("Artifact"), {"fields": ["artifact_dir", "base_encoder", "max_length"]}),
        (_("Evaluation"), {"fields": ["metrics_summary", "confusion_matrix", "training_curve", "int8_summary"]}),
        (_("Training"), {"fields": ["training_data_table", "hyperparameters_table"]}),
        (_("Model card"), {"fields": ["model_card_text"], "classes": ["collapse"]}),
    ]
    readonly_fields = [
        "model", "version", "status", "published_at", "deprecated_at", "retired_at", "artifact_dir", "base_encoder",
        "max_length", "metrics_summary", "confusion_matrix", "training_curve", "training_data_table",
        "hyperparameters_table", "model_card_text", "int8_summary",
    ]  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("eval accuracy"))
    def accuracy(self, obj: ModelVersion) -> str:
        return _pct(obj.metrics.get("accuracy"))

    @admin.display(description=_("macro-F1"))
    def macro_f1(self, obj: ModelVersion) -> str:
        value = obj.metrics.get("macro_f1")
        return f"{value:.3f}" if isinstance(value, int | float) else "—"

    @admin.display(description=_("test accuracy"))
    def test_accuracy(self, obj: ModelVersion) -> str:
        return _pct((obj.metrics.get("test") or {}).get("accuracy"))

    @admin.display(description=_("metrics"))
    def metrics_summary(self, obj: ModelVersion) -> SafeString | str:
        sets = [(_("eval"), obj.metrics), (_("test"), obj.metrics.get("test"))]
        tables = [_metrics_table(name, metrics) for name, metrics in sets if metrics and "per_label" in metrics]
        return format_html_join("", "{}", ((table,) for table in tables)) if tables else "—"

    @admin.display(description=_("confusion matrix (eval)"))
    def confusion_matrix(self, obj: ModelVersion) -> SafeString | str:
        matrix = obj.metrics.get("confusion_matrix")
        if not matrix:
            return "—"
        # Our own SVG: every label and number in it is escaped by charts.py.
        return mark_safe(confusion_matrix_svg(matrix, obj.model.labels, title=f"{obj}: confusion matrix"))  # noqa: S308

    @admin.display(description=_("training curve"))
    def training_curve(self, obj: ModelVersion) -> SafeString | str:
        history = obj.metrics.get("history")
        if not history:
            return "—"
        return mark_safe(training_curve_svg(history, title=f"{obj}: training curve"))  # noqa: S308 (escaped SVG)

    @admin.display(description=_("int8 variant"))
    def int8_summary(self, obj: ModelVersion) -> SafeString | str:
        int8 = obj.int8
        if not int8:
            return "—"
        return format_html(
            "accuracy {} (fp32 {}), loss {} points, {}x at batch 32; {}",
            _pct(int8.get("accuracy")),
            _pct(int8.get("accuracy_fp32")),
            f"{int8.get('loss_points', 0):+.2f}",
            f"{int8.get('speedup_b32', 0):.2f}",
            _("eligible") if obj.int8_eligible else _("not eligible"),
        )

    @admin.display(description=_("training data"))
    def training_data_table(self, obj: ModelVersion) -> SafeString | str:
        rows = [
            (
                role,
                info.get("path", ""),
                info.get("examples", ""),
                ", ".join(f"{k}: {v}" for k, v in info.get("label_counts", {}).items()),
            )
            for role, info in obj.training_data.items()
        ]
        if not rows:
            return "—"
        body = format_html_join("", "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        return format_html("<table><tbody>{}</tbody></table>", body)

    @admin.display(description=_("hyper-parameters"))
    def hyperparameters_table(self, obj: ModelVersion) -> SafeString | str:
        if not obj.hyperparameters:
            return "—"
        body = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", sorted(obj.hyperparameters.items()))
        return format_html("<table><tbody>{}</tbody></table>", body)

    @admin.display(description=_("model card (Markdown)"))
    def model_card_text(self, obj: ModelVersion) -> SafeString:
        return format_html("<pre>{}</pre>", obj.model_card)

    def _each(
        self,
        request: HttpRequest,
        queryset: QuerySet[ModelVersion],
        call: Callable[[ModelVersion], Any],
        refused: type[ValidationError],
    ) -> int:
        """``call`` each selected version; a refusal is shown and the rest go on. Returns
        how many went through."""
        done = 0
        for version in queryset.select_related("model"):
            try:
                call(version)
            except refused as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
            else:
                done += 1
        return done

    def _transition(
        self, request: HttpRequest, queryset: QuerySet[ModelVersion], service: Callable[..., Any], done: str
    ) -> None:
        actor = _staff(request)
        changed = self._each(
            request, queryset, lambda version: service(version=version, actor=actor), InvalidTransition
        )
        if changed:
            self.message_user(
                request,
                ngettext("%(n)d version %(done)s.", "%(n)d versions %(done)s.", changed) % {"n": changed, "done": done},
            )

    @admin.action(description=_("Publish the selected draft versions"))
    def publish(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        self._transition(request, queryset, model_version_publish, "published")

    @admin.action(description=_("Deprecate the selected published versions (they answer with a warning)"))
    def deprecate(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        self._transition(request, queryset, model_version_deprecate, "deprecated")

    @admin.action(description=_("Retire the selected versions (they refuse requests)"))
    def retire(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        self._transition(request, queryset, model_version_retire, "retired")

    @admin.action(description=_("Build and measure the int8 variant of the selected versions"))
    def build_int8(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        actor = _staff(request)

        def start(version: ModelVersion) -> None:
            model_version_quantize_start(version=version, actor=actor)

        queued = self._each(request, queryset, start, ValidationError)
        if queued:
            self.message_user(
                request,
                ngettext(
                    "%(n)d int8 variant build queued; its figures appear on the version when it is done.",
                    "%(n)d int8 variant builds queued; their figures appear on the versions when they are done.",
                    queued,
                )
                % {"n": queued},
            )


def _metrics_table(name: StrOrPromise, metrics: dict[str, Any]) -> SafeString:
    rows = format_html_join(
        "",
        "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (label, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", m["support"])
            for label, m in metrics["per_label"].items()
        ),
    )
    return format_html(
        "<p><strong>{}</strong>: accuracy {}, macro-F1 {}, {} examples</p>"
        "<table><thead><tr><th>label</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr></thead>"
        "<tbody>{}</tbody></table>",
        name,
        _pct(metrics["accuracy"]),
        f"{metrics['macro_f1']:.3f}",
        metrics["eval_examples"],
        rows,
    )


def _progress(run: TrainingRun) -> SafeString:
    percent = round(run.progress * 100)
    return format_html(
        '<progress value="{}" max="100" aria-label="{}">{} %</progress> {} %', percent, run.slug, percent, percent
    )


class TrainingRunStartForm(forms.Form):
    """What an admin gives to start a run; relative paths are from the repository root."""

    _defaults = TrainingConfig(slug="x", train_path="x")
    slug = forms.SlugField(max_length=60, help_text=_("Model id, e.g. sentiment-sst2. A new version if it exists."))
    name = forms.CharField(max_length=100, required=False)
    description = forms.CharField(max_length=240, required=False)
    train_path = forms.CharField(label=_("train file"), help_text=_("e.g. ../shared/data/sst2/train.tsv"))
    eval_path = forms.CharField(
        label=_("eval file"), required=False, help_text=_("Empty: a stratified tenth of train is held out.")
    )
    test_path = forms.CharField(label=_("test file"), required=False)
    labels = forms.CharField(
        required=False, help_text=_("Comma-separated names in logit order; they map integer ids 0..n-1 or 1..n.")
    )
    text_column = forms.CharField(required=False, help_text=_("Empty: detected from the header."))
    label_column = forms.CharField(required=False)
    epochs = forms.IntegerField(min_value=1, max_value=100, initial=_defaults.epochs)
    batch_size = forms.IntegerField(min_value=1, max_value=4096, initial=_defaults.batch_size)
    lr = forms.FloatField(label=_("learning rate"), min_value=1e-7, max_value=0.1, initial=_defaults.lr)
    max_length = forms.IntegerField(min_value=8, max_value=512, initial=_defaults.max_length)
    max_train_examples = forms.IntegerField(min_value=2, required=False)
    max_minutes = forms.FloatField(min_value=0.1, required=False, initial=30)
    patience = forms.IntegerField(min_value=1, initial=_defaults.patience)
    freeze_embeddings = forms.BooleanField(
        required=False, help_text=_("Keep the word embeddings fixed: faster, and often better on small data.")
    )
    seed = forms.IntegerField(initial=_defaults.seed)
    device = forms.ChoiceField(choices=[(d, d) for d in DEVICES], initial="auto")
    publish = forms.BooleanField(required=False, help_text=_("Publish the new version when training succeeds."))

    def params(self) -> dict[str, Any]:
        data = {key: value for key, value in self.cleaned_data.items() if value not in (None, "")}
        if data.get("labels"):
            data["labels"] = [label.strip() for label in data["labels"].split(",")]
        return data


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ["slug", "status", "progress_bar", "message", "version", "created_by", "created_at"]
    list_filter = ["status"]
    list_select_related = ["version__model", "created_by"]
    search_fields = ["slug", "message"]
    fields = readonly_fields = (
        "slug", "status", "progress_bar", "message", "version", "created_by", "created_at", "started_at",
        "finished_at", "params_table", "log_text",
    )  # fmt: skip

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Viewable, never edited: a run's record is written by the worker only.
        return False

    @admin.display(description=_("progress"))
    def progress_bar(self, obj: TrainingRun) -> SafeString:
        return _progress(obj)

    @admin.display(description=_("parameters"))
    def params_table(self, obj: TrainingRun) -> SafeString:
        body = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", sorted(obj.params.items()))
        return format_html("<table><tbody>{}</tbody></table>", body)

    @admin.display(description=_("log"))
    def log_text(self, obj: TrainingRun) -> SafeString:
        return format_html("<pre>{}</pre>", obj.log or "—")

    def get_urls(self) -> list[Any]:
        start = path("start/", self.admin_site.admin_view(self.start_view), name="mlmodels_trainingrun_start")
        return [start, *super().get_urls()]

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:mlmodels_trainingrun_start"))

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        active = TrainingRun.objects.filter(status__in=[TrainingStatus.QUEUED, TrainingStatus.RUNNING]).exists()
        return super().changelist_view(request, {**(extra_context or {}), "runs_active": active})

    def start_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = TrainingRunStartForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                run = training_run_start(params=form.params(), actor=_staff(request))
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                self.message_user(request, _("Training run queued: %(slug)s.") % {"slug": run.slug}, messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:mlmodels_trainingrun_change", args=[run.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": _("Start a training run"),
        }
        return TemplateResponse(request, "admin/mlmodels/trainingrun/start.html", context)
