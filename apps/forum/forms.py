"""Forms of the forum's pages: they parse and validate input; the services decide."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .conf import forum_setting
from .models import Category, FlagReason, NotificationSettings, PinScope, SanctionKind
from .selectors import AUDIT_ACTIONS, AUDIT_TARGET_TYPES
from .services import ReviewDecision

BODY_HELP = _(
    "Markdown: **bold**, _italic_, `code`, ```fenced code```, > quotes, [links](https://…), @name to mention."
)


def _body_field(label: Any = None) -> forms.CharField:
    return forms.CharField(
        label=label or _("Message"),
        max_length=forum_setting("MAX_BODY_CHARS"),
        help_text=BODY_HELP,
        widget=forms.Textarea(attrs={"rows": 10, "data-forum-editor": "", "spellcheck": "true"}),
    )


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Category) -> str:
        return obj.name


class ThreadForm(forms.Form):
    category = CategoryChoiceField(label=_("Category"), queryset=Category.objects.none(), empty_label=None)
    title = forms.CharField(label=_("Title"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    body = _body_field()
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=200,
        help_text=_("Up to five, separated by commas."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args: Any, categories: list[Category], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        category = cast(forms.ModelChoiceField, self.fields["category"])  # declared above
        category.queryset = Category.objects.filter(pk__in=[c.pk for c in categories])


class ReplyForm(forms.Form):
    body = _body_field(_("Your reply"))
    reply_to = forms.UUIDField(required=False, widget=forms.HiddenInput)


class EditForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=150, required=False)
    tags = forms.CharField(
        label=_("Tags"), max_length=200, required=False, help_text=_("Up to five, separated by commas.")
    )
    body = _body_field()
    reason = forms.CharField(
        label=_("Reason for the edit"),
        max_length=300,
        required=False,
        help_text=_("Shown in the edit history. Required when you edit someone else's post."),
    )


class FlagForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("What is wrong with this post?"), choices=FlagReason.choices, widget=forms.RadioSelect
    )
    text = forms.CharField(
        label=_("Details for the moderators"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required for “Something else”."),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class PinForm(ReasonForm):
    scope = forms.ChoiceField(
        label=_("Pin"), choices=[(PinScope.CATEGORY, PinScope.CATEGORY.label), (PinScope.GLOBAL, PinScope.GLOBAL.label)]
    )


class MoveForm(ReasonForm):
    category = CategoryChoiceField(label=_("Move to"), queryset=Category.objects.all(), empty_label=None)


SLOW_MODE_CHOICES = [
    (0, _("Off")),
    (60, _("1 minute")),
    (300, _("5 minutes")),
    (900, _("15 minutes")),
    (3600, _("1 hour")),
    (21600, _("6 hours")),
    (86400, _("1 day")),
]


class SlowModeForm(ReasonForm):
    seconds = forms.TypedChoiceField(label=_("Slow mode"), choices=SLOW_MODE_CHOICES, coerce=int)


class SplitForm(ReasonForm):
    title = forms.CharField(label=_("Title of the new thread"), max_length=150)
    category = CategoryChoiceField(label=_("Category"), queryset=Category.objects.all(), required=False)
    posts = forms.TypedMultipleChoiceField(label=_("Replies to move"), coerce=str, choices=[])

    def __init__(self, *args: Any, post_ids: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        posts = cast(forms.TypedMultipleChoiceField, self.fields["posts"])  # declared above
        posts.choices = [(i, i) for i in post_ids]


DURATION_CHOICES = [
    ("1", _("1 day")),
    ("3", _("3 days")),
    ("7", _("1 week")),
    ("14", _("2 weeks")),
    ("30", _("30 days")),
    ("90", _("90 days")),
    ("365", _("1 year")),
    ("", _("Until lifted by an admin")),
]


def duration_until(days: str) -> Any:
    return timezone.now() + timedelta(days=int(days)) if days else None


class SanctionForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Sanction"), choices=SanctionKind.choices, widget=forms.RadioSelect, initial=SanctionKind.SILENCE
    )
    duration = forms.ChoiceField(label=_("For"), choices=DURATION_CHOICES, required=False, initial="7")
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The member sees this reason."),
    )


class LiftForm(forms.Form):
    reason = forms.CharField(label=_("Reason for lifting"), max_length=500)


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=ReviewDecision.choices)
    reason = forms.CharField(max_length=500, required=False)
    duration = forms.ChoiceField(choices=DURATION_CHOICES, required=False, initial="7")


class NotificationSettingsForm(forms.ModelForm):
    class Meta:
        model = NotificationSettings
        fields = ["email_replies", "email_mentions", "email_watching", "email_solutions", "email_moderation"]


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=_("Actor"), max_length=150, required=False)
    action = forms.ChoiceField(
        label=_("Action"), required=False, choices=[("", _("Any action"))] + [(a, a) for a in AUDIT_ACTIONS]
    )
    target_type = forms.ChoiceField(
        label=_("Target"), required=False, choices=[("", _("Any target"))] + [(t, t) for t in AUDIT_TARGET_TYPES]
    )
    target_id = forms.CharField(label=_("Target id"), max_length=64, required=False)
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
