"""Pages for reading: lists, a thread, a post's history, member pages."""

from __future__ import annotations

import difflib
from typing import Any
from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from .. import selectors
from ..forms import (
    SLOW_MODE_CHOICES,
    PinForm,
    ReplyForm,
    SanctionForm,
    SlowModeForm,
)
from ..models import Category, PinScope, SubscriptionLevel, Tag, Thread
from ..permissions import (
    ForumViewer,
    can_lift_sanction,
    can_mark_solution,
    can_moderate,
    can_reply,
    can_sanction,
    can_start_thread,
)
from ..selectors.pages import (
    MEMBER_TABS,
    member_tab_page,
    posts_mark_actions,
    thread_list_page,
    thread_solution_visible,
)
from ..services import thread_read_mark
from .common import forum_render, viewer_of

LIST_TITLES = {
    "latest": gettext_lazy("Latest"),
    "top": gettext_lazy("Top"),
    "unanswered": gettext_lazy("Unanswered"),
    "solved": gettext_lazy("Solved"),
}


def _page_number(request: HttpRequest) -> int:
    try:
        return max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        return 1


def _period(request: HttpRequest) -> str:
    period = request.GET.get("period", "month")
    return period if period in selectors.TOP_PERIODS else "month"


def _query_without_page(request: HttpRequest) -> str:
    """The list's query string less ``page``, for the pagination links."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _thread_list_page(
    request: HttpRequest,
    *,
    sort: str,
    category: Category | None = None,
    tag: Tag | None = None,
    template: str = "forum/thread_list.html",
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    viewer = viewer_of(request)
    period = _period(request)
    page = thread_list_page(
        viewer=viewer, category=category, tag=tag, sort=sort, period=period, page_number=request.GET.get("page")
    )
    context = {
        "nav": sort if category is None and tag is None else "",
        "query": _query_without_page(request),
        "page": page,
        "threads": page.object_list,
        "sort": sort,
        "period": period,
        "periods": list(selectors.TOP_PERIODS),
        "list_title": LIST_TITLES.get(sort, ""),
        "category": category,
        "tag": tag,
        "can_start_thread": viewer.can_write,
        **(extra or {}),
    }
    return forum_render(request, template, context)


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    viewer = viewer_of(request)
    categories = selectors.category_list(viewer=viewer)
    return _thread_list_page(request, sort="latest", extra={"categories": categories, "is_index": True})


@require_GET
def thread_list_sorted(request: HttpRequest, sort: str) -> HttpResponse:
    if sort not in selectors.SORTS:
        raise Http404("no such list")
    return _thread_list_page(request, sort=sort)


@require_GET
def categories(request: HttpRequest) -> HttpResponse:
    viewer = viewer_of(request)
    return forum_render(
        request, "forum/categories.html", {"categories": selectors.category_list(viewer=viewer), "nav": "categories"}
    )


@require_GET
def category_detail(request: HttpRequest, slug: str) -> HttpResponse:
    viewer = viewer_of(request)
    category = selectors.category_get(viewer=viewer, slug=slug)
    sort = request.GET.get("sort", "latest")
    if sort not in selectors.SORTS:
        sort = "latest"
    return _thread_list_page(
        request,
        sort=sort,
        category=category,
        template="forum/category.html",
        extra={
            "can_start_thread": can_start_thread(viewer, category),
            "subscription_level": getattr(category, "subscription_level", None),
            "levels": SubscriptionLevel,
        },
    )


@require_GET
def tag_detail(request: HttpRequest, slug: str) -> HttpResponse:
    tag = selectors.tag_get(slug=slug)
    return _thread_list_page(request, sort="latest", tag=tag)


@require_GET
def thread_short(request: HttpRequest, pk: UUID) -> HttpResponse:
    thread = selectors.thread_get(viewer=viewer_of(request), pk=pk)
    return redirect(thread.get_absolute_url())


@require_GET
def thread_detail(request: HttpRequest, pk: UUID, slug: str) -> HttpResponse:
    viewer = viewer_of(request)
    thread = selectors.thread_get(viewer=viewer, pk=pk)
    if slug != thread.slug:
        query = f"?{request.GET.urlencode()}" if request.GET else ""
        return redirect(thread.get_absolute_url() + query, permanent=True)
    page = selectors.post_page(viewer=viewer, thread=thread, page=_page_number(request))
    posts_mark_actions(viewer=viewer, thread=thread, posts=page.posts)
    if page.posts:
        last_read = getattr(thread, "last_read", -1)
        thread_read_mark(user=viewer.user, thread=thread, number=page.posts[-1].number, known=last_read)
    context = {
        **_thread_context(viewer, thread, page),
        "reply_form": ReplyForm(initial=_quote_initial(request, viewer, thread)),
        **(_moderation_forms(thread) if can_moderate(viewer) else {}),
    }
    return forum_render(request, "forum/thread.html", context)


_ZERO = UUID(int=0)


def _thread_context(viewer: ForumViewer, thread: Thread, page: selectors.PostPage) -> dict[str, Any]:
    return {
        # URL prefixes for the per-post links: one reverse() per page instead of ~12 per post.
        "p_prefix": reverse("forum:post", kwargs={"pk": _ZERO}).removesuffix(f"{_ZERO}/"),
        "u_prefix": reverse("forum:user", kwargs={"username": "-"}).removesuffix("-/"),
        "thread": thread,
        "category": thread.category,
        "page": page,
        "posts": page.posts,
        "can_reply": can_reply(viewer, thread),
        "can_solve": can_mark_solution(viewer, thread),
        "is_staff": can_moderate(viewer),
        "levels": SubscriptionLevel,
        "solution": thread_solution_visible(viewer=viewer, thread=thread),
    }


def _moderation_forms(thread: Thread) -> dict[str, Any]:
    """The staff tools under a thread, filled in with its current settings."""
    return {
        "pin_form": PinForm(initial={"scope": thread.pin or PinScope.CATEGORY}),
        # One query for the two menus (move, split) that a MoveForm would run once each.
        "move_categories": list(Category.objects.order_by("position", "name")),
        "slow_form": SlowModeForm(initial={"seconds": thread.slow_mode_seconds}),
        "slow_choices": SLOW_MODE_CHOICES,
    }


def _quote_initial(request: HttpRequest, viewer: ForumViewer, thread: Thread) -> dict[str, Any]:
    quoted = request.GET.get("quote")
    if not quoted:
        return {}
    try:
        post = selectors.post_get(viewer=viewer, pk=UUID(quoted))
    except (ValueError, Http404):
        return {}
    if post.thread_id != thread.pk:
        return {}
    author = post.author.get_username() if post.author else _("someone")
    quoted_lines = "\n".join(f"> {line}" if line else ">" for line in post.body.splitlines())
    return {"body": f"> @{author} {_('wrote')}:\n{quoted_lines}\n\n", "reply_to": post.pk}


@require_GET
def post_permalink(request: HttpRequest, pk: UUID) -> HttpResponse:
    viewer = viewer_of(request)
    post = selectors.post_get(viewer=viewer, pk=pk)
    number = selectors.post_page_number(viewer=viewer, post=post)
    page = f"?page={number}" if number > 1 else ""
    return redirect(f"{post.thread.get_absolute_url()}{page}#{post.anchor}")


@require_GET
def post_raw(request: HttpRequest, pk: UUID) -> HttpResponse:
    """The Markdown source of a post (for quoting)."""
    post = selectors.post_get(viewer=viewer_of(request), pk=pk)
    response = HttpResponse(post.body, content_type="text/plain; charset=utf-8")
    response["X-Robots-Tag"] = "noindex"
    return response


@require_GET
def post_history(request: HttpRequest, pk: UUID) -> HttpResponse:
    viewer = viewer_of(request)
    post = selectors.post_get(viewer=viewer, pk=pk)
    revisions = selectors.post_revisions(viewer=viewer, post=post)
    versions = [*[(r.body, r) for r in revisions], (post.body, None)]
    changes = []
    for index in range(1, len(versions)):
        old, revision = versions[index - 1]
        new, _next = versions[index]
        lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=2))[2:]
        changes.append({"revision": revision, "lines": lines, "number": index})
    return forum_render(
        request, "forum/post_history.html", {"post": post, "thread": post.thread, "changes": list(reversed(changes))}
    )


def _member_tabs() -> list[tuple[str, str]]:
    return [
        ("threads", _("Threads")),
        ("replies", _("Replies")),
        ("solutions", _("Solutions")),
        ("likes", _("Most liked")),
    ]


@require_GET
def member_detail(request: HttpRequest, username: str) -> HttpResponse:
    viewer = viewer_of(request)
    member = selectors.member_get(username=username)
    tab = request.GET.get("tab", "threads")
    if tab not in MEMBER_TABS:
        tab = "threads"
    page = member_tab_page(viewer=viewer, member=member, tab=tab, page_number=request.GET.get("page"))
    member_viewer = selectors.forum_viewer(member) if can_moderate(viewer) else None
    context = {
        "member": member,
        "stats": selectors.member_activity(viewer=viewer, member=member),
        "tab": tab,
        "page": page,
        "items": page.object_list,
        "member_viewer": member_viewer,
        "can_sanction": member_viewer is not None and can_sanction(viewer, member_viewer),
        "can_lift": can_lift_sanction(viewer),
        "sanction_form": SanctionForm(),
        "is_self": viewer.id == member.pk,
        "tabs": _member_tabs(),
    }
    return forum_render(request, "forum/member.html", context)
