"""Forum rows made directly (fast, no limits): for fixtures and bulk data. Tests of the
rules themselves go through ``apps.forum.services``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import factory
from django.utils import timezone

from apps.forum.models import Access, Category, CategoryKind, Post, Subscription, Thread
from apps.forum.rendering import body_fingerprint, detect_language, render_post, thread_slug
from apps.forum.services.common import thread_refresh_stats

from ..factories import UserFactory


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"category-{n}")
    name = factory.LazyAttribute(lambda c: c.slug.replace("-", " ").title())
    description = "A place to talk."
    color = "indigo"
    kind = CategoryKind.DISCUSSION
    read_access = Access.EVERYONE
    post_access = Access.EVERYONE


def make_thread(
    *,
    category: Category,
    author: Any = None,
    title: str = "How do I call the classify endpoint?",
    body: str = "I tried `curl` and got a 401. What am I missing?",
    replies: int = 0,
    reply_author: Any = None,
    **fields: Any,
) -> Thread:
    """A published thread with ``replies`` replies, counters refreshed."""
    author = author or UserFactory()
    now = timezone.now()
    thread = Thread.objects.create(
        category=category,
        title=title,
        slug=thread_slug(title),
        author=author,
        bumped_at=now,
        post_number_seq=1 + replies,
        last_poster=author,
        language=fields.pop("language", None) or detect_language(f"{title} {body}"),
        **fields,
    )
    html = render_post(body).html
    posts = [Post(thread=thread, number=1, author=author, body=body, html=html, body_hash=body_fingerprint(body))]
    replier = reply_author or author
    for number in range(2, replies + 2):
        text = f"Reply number {number}: check the `Authorization` header."
        posts.append(
            Post(
                thread=thread,
                number=number,
                author=replier,
                body=text,
                html=render_post(text).html,
                body_hash=body_fingerprint(text),
            )
        )
    Post.objects.bulk_create(posts)
    thread_refresh_stats(thread=thread)
    Subscription.objects.create(user=author, thread=thread)  # as thread_create does
    return thread


def first_post(thread: Thread) -> Post:
    return Post.objects.get(thread=thread, number=1)


def age(obj: Any, **delta: Any) -> None:
    """Move ``obj``'s creation time into the past (auto_now_add cannot be set directly)."""
    when = timezone.now() - timedelta(**delta)
    type(obj).objects.filter(pk=obj.pk).update(created_at=when)
    obj.created_at = when
