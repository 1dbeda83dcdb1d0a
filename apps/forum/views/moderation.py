"""Staff pages and actions: thread and post moderation, the review queue, sanctions and
the audit log. Non-staff get 404 for the pages and 403 for the actions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from .. import selectors, services
from ..errors import InvalidInput
from ..forms import (
    DURATION_CHOICES,
    AuditFilterForm,
    LiftForm,
    MoveForm,
    PinForm,
    ReasonForm,
    ReviewForm,
    SanctionForm,
    SlowModeForm,
    SplitForm,
    duration_until,
)
from ..models import Post, SanctionKind, Thread
from ..permissions import can_moderate
from .common import ACTION_ERRORS, action_failed, forum_render, login_required_response, viewer_of

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def _form_error(form: Any) -> InvalidInput:
    errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
    return InvalidInput(" ".join(errors) or _("Check the form and try again."))


THREAD_ACTIONS: dict[str, tuple[type[ReasonForm], Callable[..., Thread], StrOrPromise]] = {
    "lock": (ReasonForm, services.thread_lock, gettext_lazy("The thread is locked.")),
    "unlock": (ReasonForm, services.thread_unlock, gettext_lazy("The thread is unlocked.")),
    "close": (ReasonForm, services.thread_close, gettext_lazy("The thread is closed.")),
    "reopen": (ReasonForm, services.thread_reopen, gettext_lazy("The thread is open again.")),
    "pin": (PinForm, services.thread_pin, gettext_lazy("The thread is pinned.")),
    "unpin": (ReasonForm, services.thread_unpin, gettext_lazy("The thread is unpinned.")),
    "move": (MoveForm, services.thread_move, gettext_lazy("The thread was moved.")),
    "slow_mode": (SlowModeForm, services.thread_slow_mode_set, gettext_lazy("Slow mode was updated.")),
}

POST_ACTIONS: dict[str, tuple[Callable[..., Post], StrOrPromise]] = {
    "hide": (services.post_hide, gettext_lazy("The post is hidden.")),
    "unhide": (services.post_unhide, gettext_lazy("The post is visible again.")),
    "delete": (services.post_delete, gettext_lazy("The post is deleted.")),
    "restore": (services.post_restore, gettext_lazy("The post is restored.")),
    "release": (services.post_release, gettext_lazy("The post is published.")),
}


@require_POST
def thread_moderate(request: HttpRequest, pk: UUID, action: str) -> HttpResponse:
    viewer = viewer_of(request)
    if viewer.user is None:
        return login_required_response(request)
    thread = selectors.thread_get(viewer=viewer, pk=pk)
    if action not in THREAD_ACTIONS:
        raise Http404("no such action")
    form_class, service, done = THREAD_ACTIONS[action]
    form = form_class(request.POST)
    if not form.is_valid():
        return action_failed(request, _form_error(form), thread.get_absolute_url())
    try:
        service(thread=thread, moderator=viewer.user, **form.cleaned_data)
    except ACTION_ERRORS as exc:
        return action_failed(request, exc, thread.get_absolute_url())
    messages.success(request, done)
    return redirect(thread.get_absolute_url())


@require_POST
def post_moderate(request: HttpRequest, pk: UUID, action: str) -> HttpResponse:
    viewer = viewer_of(request)
    if viewer.user is None:
        return login_required_response(request)
    post = selectors.post_get(viewer=viewer, pk=pk)
    if action not in POST_ACTIONS:
        raise Http404("no such action")
    service, done = POST_ACTIONS[action]
    form = ReasonForm(request.POST)
    form.is_valid()
    try:
        service(post=post, moderator=viewer.user, reason=form.cleaned_data.get("reason", ""))
    except ACTION_ERRORS as exc:
        return action_failed(request, exc, post.thread.get_absolute_url())
    messages.success(request, done)
    target = request.POST.get("next")
    if target == "review":
        return redirect("forum:review")
    return redirect(post.thread.get_absolute_url() + f"#{post.anchor}")


@require_POST
def thread_split(request: HttpRequest, pk: UUID) -> HttpResponse:
    viewer = viewer_of(request)
    if viewer.user is None:
        return login_required_response(request)
    thread = selectors.thread_get(viewer=viewer, pk=pk)
    if not can_moderate(viewer):
        return action_failed(
            request, PermissionDenied(_("Only moderators and admins can do this.")), thread.get_absolute_url()
        )
    form = SplitForm(request.POST, post_ids=request.POST.getlist("posts"))
    if not form.is_valid():
        return action_failed(request, _form_error(form), thread.get_absolute_url())
    posts = list(Post.objects.filter(thread=thread, pk__in=form.cleaned_data["posts"]))
    try:
        new_thread = services.thread_split(
            thread=thread,
            posts=posts,
            title=form.cleaned_data["title"],
            category=form.cleaned_data["category"],
            moderator=viewer.user,
            reason=form.cleaned_data["reason"],
        )
    except ACTION_ERRORS as exc:
        return action_failed(request, exc, thread.get_absolute_url())
    messages.success(request, _("The replies were moved to a new thread."))
    return redirect(new_thread.get_absolute_url())


@require_GET
def review(request: HttpRequest) -> HttpResponse:
    viewer = viewer_of(request)
    show = request.GET.get("show", "all")
    if show not in ("all", "flagged", "held"):
        show = "all"
    queue = selectors.review_queue(viewer=viewer, show=show)
    page = Paginator(queue, 20).get_page(request.GET.get("page"))
    posts = list(page.object_list)
    histories = selectors.author_histories(viewer=viewer, posts=posts)
    for post in posts:
        vars(post)["history"] = histories.get(post.author_id)
    return forum_render(
        request,
        "forum/review.html",
        {"page": page, "posts": posts, "show": show, "durations": DURATION_CHOICES, "nav": "review"},
    )


@require_POST
def review_decide(request: HttpRequest, pk: UUID) -> HttpResponse:
    viewer = viewer_of(request)
    if viewer.user is None or not can_moderate(viewer):
        raise Http404("staff only")
    post = selectors.post_get(viewer=viewer, pk=pk)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return action_failed(request, _form_error(form), reverse("forum:review"))
    days = form.cleaned_data.get("duration")
    try:
        services.review_decide(
            post=post,
            moderator=viewer.user,
            decision=form.cleaned_data["decision"],
            reason=form.cleaned_data["reason"],
            days=int(days) if days else None,
        )
    except ACTION_ERRORS as exc:
        return action_failed(request, exc, reverse("forum:review"))
    messages.success(request, _("Decision recorded."))
    return redirect("forum:review")


@require_POST
def member_sanction(request: HttpRequest, username: str) -> HttpResponse:
    viewer = viewer_of(request)
    if viewer.user is None or not can_moderate(viewer):
        raise Http404("staff only")
    member = selectors.member_get(username=username)
    url = reverse("forum:user", kwargs={"username": member.username})
    form = SanctionForm(request.POST)
    if not form.is_valid():
        return action_failed(request, _form_error(form), url)
    service = services.user_silence if form.cleaned_data["kind"] == SanctionKind.SILENCE else services.user_suspend
    try:
        service(
            user=member,
            moderator=viewer.user,
            reason=form.cleaned_data["reason"],
            until=duration_until(form.cleaned_data["duration"]),
        )
    except ACTION_ERRORS as exc:
        return action_failed(request, exc, url)
    messages.success(request, _("The sanction is in place and the member was told."))
    return redirect(url)


@require_GET
def sanctions(request: HttpRequest) -> HttpResponse:
    viewer = viewer_of(request)
    active_only = request.GET.get("all") != "1"
    page = Paginator(selectors.sanction_list(viewer=viewer, active_only=active_only), 50).get_page(
        request.GET.get("page")
    )
    return forum_render(
        request, "forum/sanctions.html", {"page": page, "active_only": active_only, "lift_form": LiftForm()}
    )


@require_POST
def sanction_lift(request: HttpRequest, pk: UUID) -> HttpResponse:
    viewer = viewer_of(request)
    if viewer.user is None or not can_moderate(viewer):
        raise Http404("staff only")
    sanction = selectors.sanction_get(viewer=viewer, pk=pk)
    form = LiftForm(request.POST)
    if not form.is_valid():
        return action_failed(request, _form_error(form), reverse("forum:sanctions"))
    try:
        services.sanction_lift(sanction=sanction, admin=viewer.user, reason=form.cleaned_data["reason"])
    except ACTION_ERRORS as exc:
        return action_failed(request, exc, reverse("forum:sanctions"))
    messages.success(request, _("The sanction was lifted and the member was told."))
    return redirect("forum:sanctions")


def _day_start(day: Any) -> datetime | None:
    return timezone.make_aware(datetime.combine(day, time.min)) if day else None


@require_GET
def audit(request: HttpRequest) -> HttpResponse:
    viewer = viewer_of(request)
    form = AuditFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        until = _day_start(data["until"])
        filters = {
            "actor": data["actor"],
            "action": data["action"],
            "target_type": data["target_type"],
            "target_id": data["target_id"],
            "since": _day_start(data["since"]),
            "until": until + timedelta(days=1) if until else None,
        }
    entries = selectors.audit_log(viewer=viewer, **filters)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return forum_render(request, "forum/audit.html", {"page": page, "form": form, "query": query.urlencode()})
