"""The demo forum loads, is lively, and a second load adds nothing."""

from __future__ import annotations

import io

import pytest
from allauth.account.models import EmailAddress

from apps.accounts import roles
from apps.accounts.models import User
from apps.accounts.services import role_grant
from apps.forum import demo
from apps.forum.models import Category, Like, Post, Thread

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_users(db):
    for email, handle, role in (
        ("admin@example.com", "admin", roles.ADMIN),
        ("moderator@example.com", "moderator", roles.MODERATOR),
        ("developer@example.com", "developer", roles.DEVELOPER),
    ):
        user = User.objects.create(email=email, username=handle)
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        role_grant(user=user, role=roles.DEVELOPER)
        role_grant(user=user, role=role)


@pytest.mark.embedded
def test_the_demo_forum_is_lively_and_loading_it_twice_adds_nothing(client, demo_users):
    out = io.StringIO()
    demo.load(stdout=out)
    counts = (Category.objects.count(), Thread.objects.count(), Post.objects.count(), Like.objects.count())
    demo.load(stdout=out)
    assert (Category.objects.count(), Thread.objects.count(), Post.objects.count(), Like.objects.count()) == counts
    assert "nothing to add" in out.getvalue()

    slugs = set(Category.objects.values_list("slug", flat=True))
    assert {"announcements", "qa", "show-and-tell", "models-api", "zh"} <= slugs
    assert Category.objects.get(slug="announcements").post_access == "staff"
    assert Thread.objects.filter(category__slug="announcements", pin="global").exists()
    assert Thread.objects.filter(solution__isnull=False).count() >= 2
    assert Thread.objects.filter(language="zh-hans").count() >= 2
    assert Thread.objects.filter(language="en").count() >= 5
    assert Like.objects.count() >= 20 and Post.objects.filter(number__gt=1).count() >= 10
    page = client.get("/forum/").content.decode()
    assert "Welcome to the developer forum" in page and "如何在 Python 中调用分类接口？" in page
    assert "Moderation guidelines" not in page  # the staff-only category stays hidden
    client.force_login(User.objects.get(username="developer"))
    assert client.get("/forum/notifications/count/").json()["unread"] >= 1


def test_the_demo_explains_itself_when_the_demo_users_are_missing(db):
    out = io.StringIO()
    demo.load(stdout=out)
    assert "run demo_setup first" in out.getvalue()
    assert not Thread.objects.exists()
