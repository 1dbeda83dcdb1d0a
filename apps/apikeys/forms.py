"""Forms of the key pages and the admin. They parse and check input in the user's language;
the services check again and stay the source of truth."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from .models import ALL_SCOPES, Plan, Scope

SCOPE_DESCRIPTIONS = {
    Scope.MODELS_READ: _("List the published models and read their labels and metrics."),
    Scope.INFERENCE_WRITE: _("Send text to POST /api/v1/classify. Uses your monthly quota."),
    Scope.JOBS_READ: _("Fetch the result of a job that was still running (GET /api/v1/jobs/…)."),
    Scope.USAGE_READ: _("Read this month's usage and the quota left (GET /api/v1/usage)."),
}
DEFAULT_SCOPES = [Scope.MODELS_READ, Scope.INFERENCE_WRITE, Scope.JOBS_READ]

GRACE_CHOICES = [
    ("now", _("Now: the old key stops working at once")),
    ("1h", _("In 1 hour")),
    ("24h", _("In 24 hours")),
    ("7d", _("In 7 days")),
]
GRACE_PERIODS = {
    "now": timedelta(0),
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}


def scope_options(form: forms.Form) -> list[dict[str, Any]]:
    """Each scope's checkbox with its API name and description, for the template."""
    descriptions = {str(k): v for k, v in SCOPE_DESCRIPTIONS.items()}
    return [
        {"widget": w, "code": w.data["value"], "description": descriptions.get(str(w.data["value"]), "")}
        for w in form["scopes"]
    ]


def _scope_field(**kwargs: Any) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one scope.")},
        **kwargs,
    )


def _expiry_field() -> forms.IntegerField:
    return forms.IntegerField(
        label=_("Expires after (days)"),
        min_value=1,
        max_value=settings.API_KEY_MAX_DAYS,
        initial=settings.API_KEY_DEFAULT_DAYS,
        help_text=_("Between 1 and %(max)d days; 90 unless you change it.") % {"max": settings.API_KEY_MAX_DAYS},
        error_messages={
            "max_value": _("A key may live at most %(limit_value)s days."),
            "min_value": _("A key must live at least %(limit_value)s day."),
        },
    )


def _model_field(choices: list[tuple[str, str]]) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=_("Allowed models"),
        choices=choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Leave every box unticked to allow all published models, including future ones."),
    )


class KeyCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=80,
        help_text=_("So you can tell your keys apart, e.g. “production server” or “laptop”."),
        error_messages={"required": _("Give the key a name, so you can tell your keys apart.")},
    )
    scopes = _scope_field(initial=DEFAULT_SCOPES)
    expires_in_days = _expiry_field()

    def __init__(self, *args: Any, model_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["allowed_models"] = _model_field(model_choices)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Give the key a name, so you can tell your keys apart."))
        return name

    @property
    def scope_options(self) -> list[dict[str, Any]]:
        return scope_options(self)

    @property
    def model_options(self) -> list[dict[str, Any]]:
        return [{"widget": widget} for widget in self["allowed_models"]]


class KeyRotateForm(forms.Form):
    grace = forms.ChoiceField(
        label=_("When should the old key stop working?"),
        choices=GRACE_CHOICES,
        initial="24h",
        widget=forms.RadioSelect,
    )

    @property
    def grace_options(self) -> list[dict[str, Any]]:
        return [{"widget": widget} for widget in self["grace"]]

    @property
    def grace_period(self) -> timedelta:
        return GRACE_PERIODS[self.cleaned_data["grace"]]


class KeyRequestForm(forms.Form):
    plan = forms.ModelChoiceField(label=_("Plan"), queryset=Plan.objects.none(), empty_label=None)
    reason = forms.CharField(
        label=_("What do you need it for?"),
        min_length=10,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("A sentence or two: your project, the volume you expect, and when you need it."),
        error_messages={"min_length": _("Tell us in a sentence or two what you need the higher plan for.")},
    )

    def __init__(self, *args: Any, plans: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["plan"]).queryset = plans


# ---------------------------------------------------------------------------------------
# Admin
# ---------------------------------------------------------------------------------------
class IssueKeyForm(forms.Form):
    email = forms.EmailField(label=_("User's email address"), help_text=_("The key is issued to this account."))
    name = forms.CharField(label=_("Name"), max_length=80, initial=_("Issued by an administrator"))
    scopes = _scope_field(initial=DEFAULT_SCOPES)
    plan = forms.ModelChoiceField(label=_("Plan"), queryset=Plan.objects.order_by("order", "slug"), empty_label=None)
    # Empty means the plan's figure; 0 is a limit of its own (the key may do none of it).
    rpm = forms.IntegerField(
        label=_("Requests per minute"),
        min_value=0,
        required=False,
        help_text=_("Empty: the plan's limit. 0: every request is refused."),
    )
    quota = forms.IntegerField(
        label=_("Inputs per month"),
        min_value=0,
        required=False,
        help_text=_("Empty: the plan's quota. 0: no inputs at all."),
    )
    concurrency = forms.IntegerField(
        label=_("Concurrent jobs"),
        min_value=0,
        required=False,
        help_text=_("Empty: the plan's limit. 0: no jobs at all."),
    )
    expires_in_days = _expiry_field()

    def __init__(self, *args: Any, model_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["allowed_models"] = _model_field(model_choices)
        default = Plan.objects.filter(is_default=True).first()
        if default is not None:
            self.fields["plan"].initial = default.pk

    @property
    def scope_options(self) -> list[dict[str, Any]]:
        return scope_options(self)

    def clean_email(self) -> Any:
        user = get_user_model().objects.filter(email__iexact=self.cleaned_data["email"], is_active=True).first()
        if user is None:
            raise forms.ValidationError(_("No active user has this email address."))
        return user

    def service_options(self) -> dict[str, Any]:
        from django.utils import timezone

        data = self.cleaned_data
        return {
            "owner": data["email"],
            "name": data["name"],
            "scopes": [scope for scope in ALL_SCOPES if scope in data["scopes"]],
            "plan": data["plan"],
            "rpm": data["rpm"],
            "quota": data["quota"],
            "concurrency": data["concurrency"],
            "allowed_models": data["allowed_models"],
            "expires_at": timezone.now() + timedelta(days=data["expires_in_days"]),
        }


class RevokeReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        help_text=_("Kept in the audit log, e.g. “leaked in a public repository”."),
    )


class DecisionNoteForm(forms.Form):
    note = forms.CharField(
        label=_("Note to the user"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Optional; sent in the email."),
    )
