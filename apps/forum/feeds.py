"""RSS and Atom feeds of new threads, for the whole forum and per category. Feeds are
public: they show what a visitor may see, never staff-only or hidden content."""

from __future__ import annotations

from typing import Any

from django.contrib.syndication.views import Feed
from django.http import HttpRequest
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _

from .models import Category, Post, Thread
from .permissions import ANONYMOUS
from .selectors import category_get, thread_list

FEED_SIZE = 30


class LatestThreadsFeed(Feed):
    description_template = "forum/feed_item.html"

    def get_object(self, request: HttpRequest, slug: str | None = None) -> Category | None:
        return category_get(viewer=ANONYMOUS, slug=slug) if slug else None

    def title(self, obj: Category | None) -> str:
        return (
            _("%(category)s · Developer Portal forum") % {"category": obj.name} if obj else _("Developer Portal forum")
        )

    def link(self, obj: Category | None) -> str:
        from django.urls import reverse

        return obj.get_absolute_url() if obj else reverse("forum:index")

    def description(self, obj: Category | None) -> str:
        return obj.description if obj and obj.description else _("New threads in the forum.")

    def items(self, obj: Category | None) -> list[Thread]:
        threads = list(
            thread_list(viewer=ANONYMOUS, category=obj).order_by("-created_at").select_related("author")[:FEED_SIZE]
        )
        firsts = {p.thread_id: p for p in Post.objects.filter(thread__in=threads, number=1).only("thread_id", "html")}
        for thread in threads:
            thread.first_post = firsts.get(thread.pk)
        return threads

    def item_title(self, item: Thread) -> str:
        return item.title

    def item_link(self, item: Thread) -> str:
        return item.get_absolute_url()

    def item_pubdate(self, item: Thread) -> Any:
        return item.created_at

    def item_updateddate(self, item: Thread) -> Any:
        return item.bumped_at

    def item_author_name(self, item: Thread) -> str:
        return item.author.get_username() if item.author else ""

    def item_categories(self, item: Thread) -> list[str]:
        return [item.category.name, *[tag.slug for tag in item.tags.all()]]

    def item_guid(self, item: Thread) -> str:
        return f"urn:uuid:{item.pk}"

    item_guid_is_permalink = False


class LatestThreadsAtomFeed(LatestThreadsFeed):
    feed_type = Atom1Feed

    def subtitle(self, obj: Category | None) -> str:
        return self.description(obj)
