from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from . import roles
from .forms import AccountDeleteForm, ProfileForm
from .models import User
from .selectors import user_get_public
from .services import profile_ensure, profile_update, user_delete
from .types import AuthenticatedHttpRequest


def _role_labels(user: User) -> list[str]:
    names = {group.name for group in user.groups.all()}
    return [str(roles.ROLE_LABELS[role]) for role in roles.ROLES if role in names]


@login_required
def profile(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/profile.html",
        {
            "subject": request.user,
            "profile": profile_ensure(user=request.user),
            "roles": _role_labels(request.user),
            "is_self": True,
        },
    )


def public_profile(request: HttpRequest, username: str) -> HttpResponse:
    subject = user_get_public(username=username)
    return render(
        request,
        "accounts/profile.html",
        {
            "subject": subject,
            "profile": subject.profile,
            "roles": _role_labels(subject),
            "is_self": subject == request.user,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    current = profile_ensure(user=request.user)
    form = ProfileForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        try:
            profile_update(user=request.user, **{f: form.cleaned_data[f] for f in ProfileForm.Meta.fields})
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Your profile was saved."))
            return redirect("accounts:profile")
    return render(request, "accounts/settings.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = AccountDeleteForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        user = request.user
        logout(request)
        user_delete(user=user)
        messages.success(request, _("Your account and its data were deleted."))
        return redirect("home")
    return render(request, "accounts/delete.html", {"form": form})
