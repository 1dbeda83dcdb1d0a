"""The query filters of ``selectors.visibility`` against the rules of ``permissions``:
lists, search and notifications must show exactly the threads a detail page would."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from apps.apikeys import keyformat
from apps.forum import services
from apps.forum.models import Category, Post, Thread
from apps.forum.permissions import can_read_category, can_view_thread
from apps.forum.selectors.viewer import forum_viewer
from apps.forum.selectors.visibility import category_readable_q, thread_listed_q, thread_visible_q

from .factories import first_post, make_thread

pytestmark = pytest.mark.django_db

EVERY_STATE = {"published", "held", "hidden", "deleted", "staff only"}
# Who may open which thread: staff everything, the author their own held and hidden
# thread (not the deleted one), everyone else the published one only.
CAN_OPEN = {
    "anonymous": {"published"},
    "member": {"published"},
    "author": {"published", "held", "hidden"},
    "moderator": EVERY_STATE,
    "admin": EVERY_STATE,
}


@pytest.fixture
def people(developer: Any, other_developer: Any, forum_moderator: Any, forum_admin: Any) -> dict[str, Any]:
    return {
        "anonymous": None,
        "member": other_developer,
        "author": developer,
        "moderator": forum_moderator,
        "admin": forum_admin,
    }


@pytest.fixture
def threads(developer: Any, forum_moderator: Any, general: Any, staff_lounge: Any) -> list[Thread]:
    """One thread in each state, each put there by the service that does it."""
    make_thread(category=general, author=developer, title="State: published")
    services.thread_create(author=developer, category=general, title="State: held", body=keyformat.generate().raw)
    hidden = make_thread(category=general, author=developer, title="State: hidden")
    services.post_hide(post=first_post(hidden), moderator=forum_moderator, reason="Off-topic")
    deleted = make_thread(category=general, author=developer, title="State: deleted")
    services.post_delete(post=first_post(deleted), moderator=forum_moderator, reason="Spam")
    make_thread(category=staff_lounge, author=forum_moderator, title="State: staff only")
    found = list(Thread.objects.select_related("category"))
    assert _states(t.title for t in found) == EVERY_STATE
    return found


def _states(titles: Iterable[str]) -> set[str]:
    return {title.removeprefix("State: ") for title in titles}


def test_the_thread_filter_shows_each_viewer_exactly_the_threads_they_may_open(people, threads):
    for who, user in people.items():
        viewer = forum_viewer(user)
        assert _states(t.title for t in threads if can_view_thread(viewer, t)) == CAN_OPEN[who], who
        shown = _states(Thread.objects.filter(thread_visible_q(viewer)).values_list("title", flat=True))
        assert shown == CAN_OPEN[who], who


def test_lists_never_show_a_deleted_thread_not_even_to_staff(people, threads):
    for who, user in people.items():
        listed = _states(Thread.objects.filter(thread_listed_q(forum_viewer(user))).values_list("title", flat=True))
        assert listed == CAN_OPEN[who] - {"deleted"}, who


def test_the_rules_hold_through_a_relation_prefix(people, threads):
    for who, user in people.items():
        first_posts = Post.objects.filter(number=1).filter(thread_visible_q(forum_viewer(user), "thread__"))
        assert _states(first_posts.values_list("thread__title", flat=True)) == CAN_OPEN[who], who


def test_only_staff_read_a_staff_category(people, general, staff_lounge):
    for who, user in people.items():
        viewer = forum_viewer(user)
        expected = {"general", "staff"} if who in {"moderator", "admin"} else {"general"}
        assert {c.slug for c in Category.objects.all() if can_read_category(viewer, c)} == expected, who
        assert set(Category.objects.filter(category_readable_q(viewer)).values_list("slug", flat=True)) == expected
