"""Presentation helpers for forum templates: formatting, and the cached fragments of
``fragments`` (a thread's posts, a list's threads)."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from .. import fragments

register = template.Library()

register.filter("ago", fragments.ago)


@register.simple_tag(takes_context=True)
def post_stream(context: template.Context, posts: list[Any]) -> SafeString:
    """The posts of a thread page (``forum/_post.html`` each), from the thread page's
    context: ``thread``, ``p_prefix``, ``u_prefix``, ``can_reply`` and ``is_staff``."""
    thread = context["thread"]
    shared = {
        "p_prefix": context["p_prefix"],
        "u_prefix": context["u_prefix"],
        "solution_url": reverse("forum:solution", args=[thread.pk]),
        "review_url": reverse("forum:review"),
        "lang": thread.language,
        "can_reply": bool(context.get("can_reply")),
        "is_staff": bool(context.get("is_staff")),
    }
    now = timezone.now()
    authors: dict[Any, fragments.Card] = {}
    cards = [fragments.post_card(post, thread=thread, now=now, authors=authors) for post in posts]
    return fragments.render_cards(context.get("request"), "forum/_post.html", cards, item="post", shared=shared)


@register.simple_tag(takes_context=True)
def thread_rows(context: template.Context, threads: list[Any]) -> SafeString:
    """The rows of a thread list (``forum/_thread_row.html`` each); a thread outside the
    page's ``category`` shows its own."""
    category = context.get("category")
    tag_urls: dict[str, str] = {}
    now = timezone.now()
    cards = [fragments.thread_row_card(thread, category=category, tag_urls=tag_urls, now=now) for thread in threads]
    return fragments.render_cards(context.get("request"), "forum/_thread_row.html", cards, item="thread", shared={})
