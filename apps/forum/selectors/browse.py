"""Reads for members: categories, thread lists, a thread's posts, member pages.

Every function takes the viewer (a User, AnonymousUser or ``ForumViewer``) and applies the
rules of ``permissions`` through ``visibility``; what the viewer may not see raises
``Http404``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from apps.accounts.models import User

from ..conf import forum_setting
from ..models import Access, Category, Flag, FlagStatus, Like, Post, Subscription, Tag, Thread, ThreadRead
from ..models.content import pin_rank
from ..permissions import ForumViewer, can_read_category, can_view_post, can_view_thread
from .viewer import forum_viewer, role_annotations
from .visibility import category_readable_q, thread_listed_q

if TYPE_CHECKING:
    from ..permissions import AnyViewer

SORTS = ("latest", "top", "unanswered", "solved")
TOP_PERIODS = {"day": 1, "week": 7, "month": 30, "year": 365, "all": None}


@dataclass
class PostPage:
    posts: list[Post]
    number: int
    num_pages: int
    count: int

    @property
    def paginator(self) -> PostPage:
        """Django's ``Page`` API, so the same pagination template serves both."""
        return self

    @property
    def has_other_pages(self) -> bool:
        return self.num_pages > 1

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def page_range(self) -> range:
        return range(1, self.num_pages + 1)


# ---------------------------------------------------------------------------------------
# Categories and tags
# ---------------------------------------------------------------------------------------
def category_list(*, viewer: AnyViewer) -> list[Category]:
    """Readable categories in order, each with ``thread_count`` and ``last_activity``."""
    viewer = forum_viewer(viewer)
    listed = thread_listed_q(viewer, "threads__")
    return list(
        Category.objects.filter(category_readable_q(viewer))
        .annotate(thread_count=Count("threads", filter=listed), last_activity=Max("threads__bumped_at", filter=listed))
        .order_by("position", "name")
    )


def category_choices(*, viewer: AnyViewer) -> list[Category]:
    """Categories ``viewer`` can read, for menus (no counts)."""
    viewer = forum_viewer(viewer)
    return list(Category.objects.filter(category_readable_q(viewer)).order_by("position", "name"))


def category_get(*, viewer: AnyViewer, slug: str) -> Category:
    """The category, with the viewer's ``subscription_level`` (None: normal) for members;
    ``Http404`` if the viewer may not read it."""
    viewer = forum_viewer(viewer)
    queryset = Category.objects.all()
    if viewer.is_authenticated:
        queryset = queryset.annotate(
            subscription_level=Subquery(
                Subscription.objects.filter(category=OuterRef("pk"), user_id=viewer.id).values("level")[:1]
            )
        )
    category = get_object_or_404(queryset, slug=slug)
    if not can_read_category(viewer, category):
        raise Http404("no such category")
    return category


def tag_get(*, slug: str) -> Tag:
    return get_object_or_404(Tag, slug=slug)


# ---------------------------------------------------------------------------------------
# Thread lists
# ---------------------------------------------------------------------------------------
def _with_read_markers(queryset: QuerySet[Thread], viewer: ForumViewer) -> QuerySet[Thread]:
    if not viewer.is_authenticated:
        return queryset
    return queryset.annotate(
        last_read=Subquery(
            ThreadRead.objects.filter(thread=OuterRef("pk"), user_id=viewer.id).values("last_read_number")[:1]
        )
    )


def thread_list(
    *,
    viewer: AnyViewer,
    category: Category | None = None,
    tag: Tag | None = None,
    author: User | None = None,
    sort: str = "latest",
    period: str = "month",
) -> QuerySet[Thread]:
    """Threads ``viewer`` may see, newest activity first (pinned on top), or ``top`` (most
    liked and answered in ``period``), ``unanswered`` (no reply yet) or ``solved``."""
    viewer = forum_viewer(viewer)
    queryset = Thread.objects.filter(thread_listed_q(viewer))
    if category is not None:
        queryset = queryset.filter(category=category)
    if tag is not None:
        queryset = queryset.filter(tags=tag)
    if author is not None:
        queryset = queryset.filter(author=author)
    if sort == "top":
        days = TOP_PERIODS.get(period, 30)
        if days:
            queryset = queryset.filter(created_at__gte=timezone.now() - timedelta(days=days))
        queryset = queryset.annotate(score=F("like_count") * 2 + F("reply_count")).order_by("-score", "-bumped_at")
    elif sort == "unanswered":
        queryset = queryset.filter(reply_count=0, is_closed=False, is_locked=False).exclude(
            category__post_access=Access.STAFF
        )
        queryset = queryset.order_by("-created_at")
    elif sort == "solved":
        queryset = queryset.filter(solution__isnull=False).order_by("-solved_at")
    else:
        queryset = queryset.annotate(pin_rank=pin_rank(in_category=category is not None)).order_by(
            "pin_rank", "-bumped_at"
        )
    queryset = queryset.select_related("category", "author__profile").prefetch_related("tags")
    return _with_read_markers(queryset, viewer)


def threads_mark_unread(*, threads: list[Thread], viewer: AnyViewer) -> list[Thread]:
    """Set ``is_new`` and ``unread_count`` on threads from ``thread_list`` (no queries)."""
    viewer = forum_viewer(viewer)
    if viewer.user is None:
        return threads
    horizon = max(viewer.user.date_joined, timezone.now() - timedelta(days=forum_setting("NEW_THREAD_DAYS")))
    for thread in threads:
        last_read = getattr(thread, "last_read", None)
        thread.is_new = last_read is None and thread.created_at > horizon and not viewer.owns(thread)
        thread.unread_count = max(thread.last_post_number - last_read, 0) if last_read is not None else 0
    return threads


# ---------------------------------------------------------------------------------------
# One thread
# ---------------------------------------------------------------------------------------
def thread_get(*, viewer: AnyViewer, pk: Any) -> Thread:
    """The thread with its category, tags and solution (with its author), plus the viewer's
    ``subscription_level`` and ``last_read``; ``Http404`` if the viewer may not see it.
    The thread's ``author`` is not loaded (no page of a thread shows it)."""
    viewer = forum_viewer(viewer)
    queryset = Thread.objects.select_related("category", "solution__author__profile").prefetch_related("tags")
    if viewer.is_authenticated:
        queryset = queryset.annotate(
            subscription_level=Subquery(
                Subscription.objects.filter(thread=OuterRef("pk"), user_id=viewer.id).values("level")[:1]
            )
        )
    queryset = _with_read_markers(queryset, viewer)
    thread = queryset.filter(pk=pk).first()
    if thread is None or not can_view_thread(viewer, thread):
        raise Http404("no such thread")
    return thread


def _post_state_q(viewer: ForumViewer) -> Q:
    if viewer.is_staff:
        return Q()
    public = Q(held_at__isnull=True, hidden_at__isnull=True, deleted_at__isnull=True)
    if viewer.is_authenticated:
        public |= Q(author_id=viewer.id, deleted_at__isnull=True)
    return public


# What a thread page shows of a post; its author and the post it answers come as
# annotations (``POST_PAGE_ANNOTATIONS``), not as model instances: a page of 200 posts spent
# a fifth of its time loading the Markdown sources, users and profiles it does not show.
POST_PAGE_FIELDS = (
    *("id", "thread_id", "number", "author_id", "reply_to_id", "html", "like_count", "edit_count", "created_at"),
    *("held_at", "held_reason", "hidden_at", "hidden_reason", "hidden_note", "deleted_at"),
)
POST_PAGE_ANNOTATIONS = {
    "author_username": F("author__username"),
    "author_display_name": F("author__profile__display_name"),
    "reply_to_thread_id": F("reply_to__thread_id"),
    "reply_to_number": F("reply_to__number"),
    "reply_to_username": F("reply_to__author__username"),
}


def post_page(*, viewer: AnyViewer, thread: Thread, page: int = 1, per_page: int | None = None) -> PostPage:
    """One page of ``thread``'s posts that ``viewer`` may see, with the viewer's likes
    and flags and each author's staff role, in one query (two past the last page, which
    shows the last page).

    Each post holds ``POST_PAGE_FIELDS`` and ``POST_PAGE_ANNOTATIONS`` (its author's
    username and display name, and the thread, number and author's username of the post
    it replies to); any other field, ``author`` and ``reply_to`` cost a query per post."""
    viewer = forum_viewer(viewer)
    per_page = per_page or forum_setting("POSTS_PER_PAGE")
    queryset = Post.objects.filter(thread=thread).filter(_post_state_q(viewer))
    # The count comes with the rows (a window over the whole selection) instead of
    # from a query of its own.
    annotations: dict[str, Any] = {
        **POST_PAGE_ANNOTATIONS,
        **role_annotations("author_id"),
        "page_total": Window(Count("pk")),
    }
    if viewer.is_authenticated:
        annotations["viewer_liked"] = Exists(Like.objects.filter(post=OuterRef("pk"), user_id=viewer.id))
        annotations["viewer_flagged"] = Exists(Flag.objects.filter(post=OuterRef("pk"), flagger_id=viewer.id))
    if viewer.is_staff:
        annotations["pending_flags"] = Coalesce(
            Subquery(
                Flag.objects.filter(post=OuterRef("pk"), status=FlagStatus.PENDING)
                .order_by()
                .values("post")
                .annotate(n=Count("pk"))
                .values("n"),
                output_field=IntegerField(),
            ),
            Value(0),
        )
    shown = queryset.only(*POST_PAGE_FIELDS).annotate(**annotations).order_by("number")
    page = max(page, 1)
    posts = list(shown[(page - 1) * per_page : page * per_page])
    count = posts[0].page_total if posts else queryset.count()
    num_pages = max(math.ceil(count / per_page), 1)
    if not posts and count:  # past the last page: show the last one
        page = num_pages
        posts = list(shown[(page - 1) * per_page : page * per_page])
    for post in posts:
        post.thread = thread
    return PostPage(posts=posts, number=page, num_pages=num_pages, count=count)


def post_get(*, viewer: AnyViewer, pk: Any) -> Post:
    viewer = forum_viewer(viewer)
    post = Post.objects.select_related("thread__category", "thread__author", "author__profile").filter(pk=pk).first()
    if post is None or not can_view_post(viewer, post):
        raise Http404("no such post")
    return post


def post_page_number(*, viewer: AnyViewer, post: Post, per_page: int | None = None) -> int:
    """The page of its thread that shows ``post`` to ``viewer``."""
    viewer = forum_viewer(viewer)
    per_page = per_page or forum_setting("POSTS_PER_PAGE")
    before = Post.objects.filter(thread_id=post.thread_id, number__lt=post.number).filter(_post_state_q(viewer)).count()
    return before // per_page + 1


def post_revisions(*, viewer: AnyViewer, post: Post) -> list[Any]:
    """The edit history of a post the viewer may see: oldest first, then the current text."""
    if not can_view_post(forum_viewer(viewer), post):
        raise Http404("no such post")
    return list(post.revisions.select_related("editor").order_by("number"))


# ---------------------------------------------------------------------------------------
# Members
# ---------------------------------------------------------------------------------------
def member_get(*, username: str) -> User:
    return get_object_or_404(User.objects.select_related("profile"), username=username, is_active=True)


def member_activity(*, viewer: AnyViewer, member: User) -> dict[str, int]:
    """Counts on a member's page: threads, replies, solutions, likes received (only
    what ``viewer`` may see)."""
    viewer = forum_viewer(viewer)
    listed = thread_listed_q(viewer)
    posts = Post.objects.filter(author=member, thread__in=Thread.objects.filter(listed)).filter(
        Q(held_at__isnull=True, hidden_at__isnull=True, deleted_at__isnull=True)
        if not viewer.is_staff
        else Q(deleted_at__isnull=True)
    )
    totals = posts.aggregate(
        replies=Count("pk", filter=Q(number__gt=1)), likes=Sum("like_count"), threads=Count("pk", filter=Q(number=1))
    )
    solutions = Thread.objects.filter(listed, solution__author=member).count()
    return {
        "threads": totals["threads"] or 0,
        "replies": totals["replies"] or 0,
        "solutions": solutions,
        "likes": totals["likes"] or 0,
    }


def member_posts(*, viewer: AnyViewer, member: User, tab: str) -> QuerySet[Post]:
    """A member's replies (``replies``), accepted answers (``solutions``) or most liked
    posts (``likes``), newest first, as ``viewer`` may see them."""
    viewer = forum_viewer(viewer)
    posts = Post.objects.filter(author=member, thread__in=Thread.objects.filter(thread_listed_q(viewer)))
    if not viewer.is_staff:
        posts = posts.filter(held_at__isnull=True, hidden_at__isnull=True, deleted_at__isnull=True)
    else:
        posts = posts.filter(deleted_at__isnull=True)
    if tab == "solutions":
        posts = posts.filter(Exists(Thread.objects.filter(solution=OuterRef("pk")))).order_by("-created_at")
    elif tab == "likes":
        posts = posts.filter(like_count__gt=0).order_by("-like_count", "-created_at")
    else:
        posts = posts.filter(number__gt=1).order_by("-created_at")
    return posts.select_related("thread__category")
