"""Reads shaped for one page of the forum: a page of a thread list or of a member's
activity, the categories a member may start a thread in, and what a thread page shows of
each post. Each takes the viewer, as the other selectors do."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator

from apps.accounts.models import User

from ..conf import forum_setting
from ..models import Category, Post, Tag, Thread
from ..permissions import (
    ForumViewer,
    can_edit_post,
    can_flag,
    can_like,
    can_mark_solution,
    can_start_thread,
    can_view_post,
    edit_deadline,
)
from .browse import category_choices, member_posts, thread_list, threads_mark_unread

MEMBER_TABS = ("threads", "replies", "solutions", "likes")


def thread_list_page(
    *,
    viewer: ForumViewer,
    sort: str,
    period: str,
    page_number: Any,
    category: Category | None = None,
    tag: Tag | None = None,
) -> Page[Thread]:
    """One page of ``thread_list`` (``page_number`` as the query string gives it: out of
    range or not a number shows the nearest page), its threads marked new or unread."""
    threads = thread_list(viewer=viewer, category=category, tag=tag, sort=sort, period=period)
    page = Paginator(threads, forum_setting("THREADS_PER_PAGE")).get_page(page_number)
    threads_mark_unread(threads=list(page.object_list), viewer=viewer)
    return page


def member_tab_page(*, viewer: ForumViewer, member: User, tab: str, page_number: Any) -> Page[Any]:
    """One page of a member's ``tab`` (one of ``MEMBER_TABS``): their threads, or their
    replies, accepted answers or most liked posts, as ``viewer`` may see them."""
    items: Any
    if tab == "threads":
        items = thread_list(viewer=viewer, author=member)
    else:
        items = member_posts(viewer=viewer, member=member, tab=tab)
    return Paginator(items, forum_setting("THREADS_PER_PAGE")).get_page(page_number)


def category_choices_postable(*, viewer: ForumViewer) -> list[Category]:
    """The categories ``viewer`` may start a thread in, in menu order."""
    return [category for category in category_choices(viewer=viewer) if can_start_thread(viewer, category)]


def posts_mark_actions(*, viewer: ForumViewer, thread: Thread, posts: list[Post]) -> list[Post]:
    """Set what the thread page offers ``viewer`` on each of ``posts`` (from ``post_page``):
    ``can_edit``, ``can_like``, ``can_flag`` (not twice), ``can_solve``, ``is_solution``
    and ``edit_deadline``. No queries."""
    for post in posts:
        vars(post).update(
            can_edit=can_edit_post(viewer, post),
            can_like=can_like(viewer, post),
            can_flag=can_flag(viewer, post) and not getattr(post, "viewer_flagged", False),
            can_solve=can_mark_solution(viewer, thread, post),
            is_solution=thread.solution_id == post.pk,
            edit_deadline=edit_deadline(post),
        )
    return posts


def thread_solution_visible(*, viewer: ForumViewer, thread: Thread) -> Post | None:
    """The accepted answer of ``thread`` (from ``thread_get``, which loads it), or None
    when there is none or ``viewer`` may not see it. No queries."""
    solution = thread.solution if thread.solution_id else None
    if solution is None:
        return None
    solution.thread = thread
    return solution if can_view_post(viewer, solution) else None
