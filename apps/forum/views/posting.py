"""Pages and actions for writing: new threads, replies, edits, likes, flags, solutions,
subscriptions and the Markdown preview."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from .. import selectors, services
from ..errors import InvalidInput
from ..forms import EditForm, FlagForm, ReplyForm, ThreadForm
from ..models import Post, SubscriptionLevel
from ..permissions import ForumViewer, can_edit_post, can_flag
from ..selectors.pages import category_choices_postable
from .common import ACTION_ERRORS, action_failed, forum_render, login_required_response, viewer_of, wants_json


def _held_message(request: HttpRequest, post: Post) -> None:
    if post.held_at is not None:
        messages.warning(
            request,
            _(
                "Your post is held for review: it contained an API key. The key was removed from the post and "
                "revoked; see your notifications for what to do next."
            ),
        )


def _refused(form: forms.Form, exc: Exception) -> None:
    """Show a service's refusal at the top of the form."""
    form.add_error(None, getattr(exc, "message", None) or str(exc))


def _form_status(request: HttpRequest) -> int:
    """A form shown again after a POST was not accepted: 400."""
    return 400 if request.method == "POST" else 200


@require_http_methods(["GET", "POST"])
def thread_new(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    viewer = viewer_of(request)
    if viewer.user is None:
        return login_required_response(request)
    categories = category_choices_postable(viewer=viewer)
    initial = {"category": selectors.category_get(viewer=viewer, slug=slug).pk} if slug else {}
    form = ThreadForm(request.POST or None, categories=categories, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            thread = services.thread_create(author=viewer.user, **form.cleaned_data)
        except ACTION_ERRORS as exc:
            _refused(form, exc)
        else:
            _held_message(request, thread.posts.get(number=1))
            return redirect(thread.get_absolute_url())
    context = {"form": form, "categories": categories, "sanction_blocks": not viewer.can_write}
    return forum_render(request, "forum/thread_form.html", context, status=_form_status(request))


@require_http_methods(["GET", "POST"])
def reply(request: HttpRequest, pk: UUID) -> HttpResponse:
    viewer = viewer_of(request)
    thread = selectors.thread_get(viewer=viewer, pk=pk)
    if request.method == "GET":
        return redirect(thread.get_absolute_url() + "#reply")
    if viewer.user is None:
        return login_required_response(request)
    form = ReplyForm(request.POST)
    if form.is_valid():
        reply_to = None
        if form.cleaned_data.get("reply_to"):
            reply_to = selectors.post_get(viewer=viewer, pk=form.cleaned_data["reply_to"])
        try:
            post = services.post_create(
                author=viewer.user, thread=thread, body=form.cleaned_data["body"], reply_to=reply_to
            )
        except ACTION_ERRORS as exc:
            _refused(form, exc)
        else:
            _held_message(request, post)
            return redirect(reverse("forum:post", kwargs={"pk": post.pk}))
    return forum_render(request, "forum/reply_form.html", {"form": form, "thread": thread}, status=400)


def _edit_initial(post: Post) -> dict[str, Any]:
    """The edit form filled in with the post (and, for a first post, the thread's title and tags)."""
    initial = {"body": post.body}
    if post.number == 1:
        initial.update(title=post.thread.title, tags=", ".join(post.thread.tags.values_list("slug", flat=True)))
    return initial


@require_http_methods(["GET", "POST"])
def post_edit(request: HttpRequest, pk: UUID) -> HttpResponse:
    viewer = viewer_of(request)
    if viewer.user is None:
        return login_required_response(request)
    post = selectors.post_get(viewer=viewer, pk=pk)
    if not can_edit_post(viewer, post):
        refusal = InvalidInput(_("You cannot edit this post: the edit window has passed, or the thread is locked."))
        return action_failed(request, refusal, post.get_absolute_url())
    form = EditForm(request.POST or None, initial=_edit_initial(post))
    if request.method == "POST" and form.is_valid():
        try:
            # The service keeps the title and tags of a first post only.
            edited = services.post_edit(post=post, editor=viewer.user, **form.cleaned_data)
        except ACTION_ERRORS as exc:
            _refused(form, exc)
        else:
            messages.success(request, _("Your changes were saved."))
            _held_message(request, edited)
            return redirect(reverse("forum:post", kwargs={"pk": edited.pk}))
    context = {
        "form": form,
        "post": post,
        "thread": post.thread,
        "is_first": post.number == 1,
        "staff_edit": viewer.is_staff and not viewer.owns(post),
    }
    return forum_render(request, "forum/post_edit.html", context, status=_form_status(request))


@require_POST
def post_like(request: HttpRequest, pk: UUID) -> HttpResponse:
    viewer = viewer_of(request)
    if viewer.user is None:
        return login_required_response(request)
    post = selectors.post_get(viewer=viewer, pk=pk)
    try:
        if request.POST.get("action") == "unlike":
            services.post_unlike(post=post, user=viewer.user)
            liked = False
        else:
            services.post_like(post=post, user=viewer.user)
            liked = True
    except ACTION_ERRORS as exc:
        return action_failed(request, exc, post.get_absolute_url())
    if wants_json(request):
        return JsonResponse({"liked": liked, "count": post.like_count})
    return redirect(reverse("forum:post", kwargs={"pk": post.pk}))


def _after_flag_url(request: HttpRequest, viewer: ForumViewer, post: Post) -> str:
    """Where the flagger goes next: back to the post, or, when their flag was the one that
    hid it, to the thread (or the category) they can still see."""
    try:
        selectors.post_get(viewer=viewer, pk=post.pk)
    except Http404:
        pass
    else:
        messages.success(request, _("Thank you. The moderators will review this post."))
        return reverse("forum:post", kwargs={"pk": post.pk})
    messages.success(request, _("Thank you. The post is now hidden until a moderator reviews it."))
    try:
        return selectors.thread_get(viewer=viewer, pk=post.thread_id).get_absolute_url()
    except Http404:
        return post.thread.category.get_absolute_url()


@require_http_methods(["GET", "POST"])
def post_flag(request: HttpRequest, pk: UUID) -> HttpResponse:
    viewer = viewer_of(request)
    if viewer.user is None:
        return login_required_response(request)
    post = selectors.post_get(viewer=viewer, pk=pk)
    form = FlagForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.flag_create(
                post=post, flagger=viewer.user, reason=form.cleaned_data["reason"], text=form.cleaned_data["text"]
            )
        except ACTION_ERRORS as exc:
            _refused(form, exc)
        else:
            return redirect(_after_flag_url(request, viewer, post))
    return forum_render(
        request,
        "forum/post_flag.html",
        {"form": form, "post": post, "thread": post.thread, "can_flag": can_flag(viewer, post)},
        status=_form_status(request),
    )


@require_POST
def solution(request: HttpRequest, pk: UUID) -> HttpResponse:
    viewer = viewer_of(request)
    if viewer.user is None:
        return login_required_response(request)
    thread = selectors.thread_get(viewer=viewer, pk=pk)
    try:
        if request.POST.get("action") == "clear":
            services.thread_solution_clear(thread=thread, actor=viewer.user)
            messages.success(request, _("The solution mark was removed."))
            return redirect(thread.get_absolute_url())
        post = selectors.post_get(viewer=viewer, pk=UUID(request.POST.get("post", "")))
        services.thread_solution_mark(thread=thread, post=post, actor=viewer.user)
    except ValueError:
        return action_failed(request, InvalidInput(_("Choose a reply.")), thread.get_absolute_url())
    except ACTION_ERRORS as exc:
        return action_failed(request, exc, thread.get_absolute_url())
    messages.success(request, _("Marked as the solution."))
    return redirect(reverse("forum:post", kwargs={"pk": post.pk}))


def _level(request: HttpRequest) -> str | None:
    level = request.POST.get("level", "")
    return level if level in SubscriptionLevel.values else None


@require_POST
def thread_subscribe(request: HttpRequest, pk: UUID) -> HttpResponse:
    viewer = viewer_of(request)
    if viewer.user is None:
        return login_required_response(request)
    thread = selectors.thread_get(viewer=viewer, pk=pk)
    services.subscription_set(user=viewer.user, thread=thread, level=_level(request))
    messages.success(request, _("Your notification setting for this thread was saved."))
    return redirect(thread.get_absolute_url())


@require_POST
def category_subscribe(request: HttpRequest, slug: str) -> HttpResponse:
    viewer = viewer_of(request)
    if viewer.user is None:
        return login_required_response(request)
    category = selectors.category_get(viewer=viewer, slug=slug)
    services.subscription_set(user=viewer.user, category=category, level=_level(request))
    messages.success(request, _("Your notification setting for this category was saved."))
    return redirect(category.get_absolute_url())


@require_POST
def preview(request: HttpRequest) -> HttpResponse:
    """The sanitised HTML of a draft, exactly as the post will show it."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": "login required"}, status=401)
    try:
        prepared = services.post_body_prepare(body=request.POST.get("body", ""))
    except InvalidInput as exc:
        return JsonResponse({"error": exc.message}, status=400)
    return JsonResponse({"html": prepared.rendered.html, "redacted": bool(prepared.leaked_key_ids)})
