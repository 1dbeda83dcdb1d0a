"""What other parts of the portal read from the forum: site search and the home page."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django.db.models import BooleanField, Case, Exists, F, OuterRef, Q, Value, When

from ..models import Access, Post, Thread
from ..rendering import plain_text, snippet
from .browse import thread_list
from .viewer import forum_viewer
from .visibility import thread_listed_q

if TYPE_CHECKING:
    from ..permissions import AnyViewer

MAX_TERMS = 6


def _terms(query: str) -> list[str]:
    return [t for t in re.split(r"\s+", (query or "").strip()) if t][:MAX_TERMS]


def thread_search(*, query: str, viewer: AnyViewer, limit: int = 20) -> list[dict[str, Any]]:
    """Threads whose title or a visible post contains every word of ``query``; title
    matches first, then the most recently active. Returns dicts
    ``{"kind": "forum", "title", "url", "snippet", "language"}``; ``snippet`` is safe
    HTML with the matches in <mark>.

    Never returns what ``viewer`` may not see: hidden, held or deleted threads and posts
    and staff-only categories follow the same rules as the thread page.
    """
    terms = _terms(query)
    if not terms or sum(len(t) for t in terms) < 2 or limit <= 0:
        return []
    viewer = forum_viewer(viewer)
    in_title = Q()
    in_body = Q()
    for term in terms:
        in_title &= Q(title__icontains=term)
        in_body &= Q(body__icontains=term)
    public_post = Q(held_at__isnull=True, hidden_at__isnull=True, deleted_at__isnull=True)
    if viewer.is_staff:
        post_ok = Q(deleted_at__isnull=True)
    elif viewer.is_authenticated:
        post_ok = public_post | Q(author_id=viewer.id, deleted_at__isnull=True)
    else:
        post_ok = public_post
    matching_posts = Post.objects.filter(post_ok).filter(in_body)
    threads = list(
        Thread.objects.filter(thread_listed_q(viewer))
        .annotate(title_hit=Case(When(in_title, then=Value(True)), default=Value(False), output_field=BooleanField()))
        .filter(Q(title_hit=True) | Exists(matching_posts.filter(thread=OuterRef("pk"))))
        .order_by("-title_hit", "-bumped_at")[:limit]
    )
    if not threads:
        return []
    ids = [t.pk for t in threads]
    first_hit: dict[Any, Post] = {}
    for match in (
        matching_posts.filter(thread_id__in=ids).order_by("thread_id", "number").only("thread_id", "number", "html")
    ):
        first_hit.setdefault(match.thread_id, match)
    missing = [pk for pk in ids if pk not in first_hit]
    if missing:
        openings = Post.objects.filter(post_ok, thread_id__in=missing, number=1).only("thread_id", "number", "html")
        for opening in openings:
            first_hit[opening.thread_id] = opening
    results = []
    for thread in threads:
        post = first_hit.get(thread.pk)
        url = post.get_absolute_url() if post is not None and post.number > 1 else thread.get_absolute_url()
        results.append(
            {
                "kind": "forum",
                "title": thread.title,
                "url": url,
                "snippet": snippet(plain_text(post.html), " ".join(terms)) if post is not None else "",
                "language": thread.language,
            }
        )
    return results


def home_threads(*, viewer: AnyViewer, limit: int = 5) -> list[Thread]:
    """The latest active threads for the home page (announcements have their own list)."""
    threads = thread_list(viewer=viewer).exclude(category__post_access=Access.STAFF)
    return list(threads[:limit])


def home_announcements(*, viewer: AnyViewer, limit: int = 3) -> list[Thread]:
    """Announcements (threads in categories where only staff start threads, readable by
    ``viewer``): pinned ones first, then the newest."""
    viewer = forum_viewer(viewer)
    if limit <= 0:
        return []
    threads = (
        Thread.objects.filter(thread_listed_q(viewer), category__post_access=Access.STAFF)
        .select_related("category")
        .order_by(F("pinned_at").desc(nulls_last=True), "-created_at")
    )
    return list(threads[:limit])
