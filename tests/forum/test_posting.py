"""Members writing: threads, replies, quotes, mentions, edits with history, likes, solutions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from apps.forum import services
from apps.forum.errors import ForumError, InvalidInput
from apps.forum.models import Notification, NotificationKind, Post, PostRevision, Subscription, Thread

from .factories import age, first_post, make_thread

pytestmark = pytest.mark.django_db


@pytest.mark.embedded
def test_a_developer_starts_a_thread_that_others_can_read(client, developer, general):
    thread = services.thread_create(
        author=developer, category=general, title="Batching tips for the classify API", body="Send **32** inputs."
    )
    assert thread.reply_count == 0
    assert thread.slug == "batching-tips-for-the-classify-api"
    assert thread.language == "en"
    post = first_post(thread)
    assert post.html == "<p>Send <strong>32</strong> inputs.</p>"
    assert Subscription.objects.filter(user=developer, thread=thread, level="watching").exists()
    page = client.get(thread.get_absolute_url()).content.decode()
    assert "Batching tips for the classify API" in page
    assert "<strong>32</strong>" in page


def test_the_new_thread_form_creates_a_thread_and_redirects_to_it(client, developer, general):
    client.force_login(developer)
    response = client.post(
        "/forum/new/",
        {"category": general.pk, "title": "Where are the SDKs?", "body": "Is there a Go client?", "tags": "sdk, Go"},
    )
    thread = Thread.objects.get(title="Where are the SDKs?")
    assert response.status_code == 302
    assert response["Location"] == thread.get_absolute_url()
    assert sorted(thread.tags.values_list("slug", flat=True)) == ["go", "sdk"]


def test_a_chinese_thread_is_marked_as_chinese(developer, general):
    thread = services.thread_create(
        author=developer, category=general, title="如何调用分类接口？", body="请问需要安装什么库吗？"
    )
    assert thread.language == "zh-hans"
    assert thread.slug == "如何调用分类接口"


def test_a_title_that_is_too_short_or_a_body_that_is_empty_is_refused(developer, general):
    with pytest.raises(InvalidInput, match="title"):
        services.thread_create(author=developer, category=general, title="Hi", body="Long enough body")
    with pytest.raises(InvalidInput, match="at least"):
        services.thread_create(author=developer, category=general, title="A proper title", body=" ")
    assert not Thread.objects.exists()


@pytest.mark.embedded
def test_replies_are_numbered_and_update_the_thread(developer, other_developer, thread):
    first = services.post_create(author=other_developer, thread=thread, body="First answer")
    second = services.post_create(author=developer, thread=thread, body="Thanks!", reply_to=first)
    thread.refresh_from_db()
    assert (first.number, second.number) == (2, 3)
    assert thread.reply_count == 2
    assert thread.last_poster == developer
    assert thread.bumped_at == second.created_at
    assert second.reply_to == first


def test_a_reply_cannot_point_at_a_post_of_another_thread(developer, general, thread):
    other = make_thread(category=general, title="Another thread entirely")
    with pytest.raises(InvalidInput):
        services.post_create(author=developer, thread=thread, body="Hmm", reply_to=first_post(other))


def test_quoting_prefills_the_reply_box_with_the_quoted_post(client, other_developer, thread):
    client.force_login(other_developer)
    post = first_post(thread)
    page = client.get(f"{thread.get_absolute_url()}?quote={post.pk}").content.decode()
    assert "&gt; @dev wrote:" in page
    assert f'value="{post.pk}"' in page  # reply_to


def test_mentions_link_to_the_member_and_notify_them_but_not_inside_code(developer, other_developer, thread):
    post = services.post_create(
        author=developer, thread=thread, body="Ping @helper and @nobody, but not `@helper` in code."
    )
    assert '<a class="mention" href="/forum/u/helper/">@helper</a>' in post.html
    assert "@nobody" in post.html and 'href="/forum/u/nobody/"' not in post.html
    assert "<code>@helper</code>" in post.html
    assert Notification.objects.filter(recipient=other_developer, kind=NotificationKind.MENTION, post=post).count() == 1


def test_an_author_edits_within_the_window_and_the_history_shows_the_change(client, developer, thread):
    post = first_post(thread)
    services.post_edit(post=post, editor=developer, body="I tried `curl` and got a 403.", reason="typo")
    post.refresh_from_db()
    assert post.edit_count == 1
    assert post.edited_at is not None
    revision = PostRevision.objects.get(post=post)
    assert revision.body == "I tried `curl` and got a 401. What am I missing?"
    assert revision.reason == "typo"
    history = client.get(f"/forum/p/{post.pk}/history/").content.decode()
    assert "diff-del" in history and "401" in history
    assert "diff-add" in history and "403" in history


def test_editing_a_first_post_changes_the_title_and_tags(developer, thread):
    services.post_edit(
        post=first_post(thread), editor=developer, body="New body", title="A better title here", tags="auth"
    )
    thread.refresh_from_db()
    assert thread.title == "A better title here"
    assert thread.slug == "a-better-title-here"
    assert list(thread.tags.values_list("slug", flat=True)) == ["auth"]
    assert PostRevision.objects.get().title == "Getting a 401 from the API"


def test_after_the_edit_window_the_author_can_no_longer_edit(developer, thread, settings):
    settings.FORUM_EDIT_WINDOW_MINUTES = 60
    post = first_post(thread)
    age(post, minutes=61)
    with pytest.raises(PermissionDenied, match="time for editing"):
        services.post_edit(post=post, editor=developer, body="Too late")


def test_a_moderator_edit_needs_a_reason_is_audited_and_the_author_is_told(developer, forum_moderator, thread):
    post = first_post(thread)
    with pytest.raises(InvalidInput, match="reason"):
        services.post_edit(post=post, editor=forum_moderator, body="Cleaned up")
    services.post_edit(post=post, editor=forum_moderator, body="Cleaned up", reason="Removed a phone number")
    from apps.forum.models import AuditLogEntry

    entry = AuditLogEntry.objects.get(action="post.edit")
    assert entry.actor == forum_moderator
    assert entry.before["body"].startswith("I tried")
    assert entry.after["body"] == "Cleaned up"
    notice = Notification.objects.get(recipient=developer, kind=NotificationKind.MODERATION)
    assert "Removed a phone number" in notice.message


def test_likes_count_once_and_can_be_taken_back(client, developer, other_developer, thread):
    post = first_post(thread)
    assert services.post_like(post=post, user=other_developer) is True
    assert services.post_like(post=post, user=other_developer) is False
    post.refresh_from_db()
    thread.refresh_from_db()
    assert post.like_count == 1 and thread.like_count == 1
    client.force_login(other_developer)
    response = client.post(f"/forum/p/{post.pk}/like/", {"action": "unlike"}, HTTP_ACCEPT="application/json")
    assert response.json() == {"liked": False, "count": 0}
    post.refresh_from_db()
    assert post.like_count == 0


def test_nobody_likes_their_own_post(developer, thread):
    with pytest.raises(PermissionDenied):
        services.post_like(post=first_post(thread), user=developer)


@pytest.mark.embedded
def test_the_author_marks_the_solution_and_the_thread_is_solved_in_lists(client, developer, other_developer, question):
    answer = services.post_create(author=other_developer, thread=question, body="Pass `wait=30`.")
    services.thread_solution_mark(thread=question, post=answer, actor=developer)
    question.refresh_from_db()
    assert question.solution == answer
    assert Notification.objects.filter(recipient=other_developer, kind=NotificationKind.SOLUTION).exists()
    solved = client.get("/forum/solved/").content.decode()
    assert question.title in solved and "Solved" in solved
    page = client.get(question.get_absolute_url()).content.decode()
    assert "Accepted solution" in page


def test_only_the_author_or_staff_choose_the_solution_and_only_in_q_and_a(
    developer, other_developer, third_developer, forum_moderator, question, thread
):
    answer = services.post_create(author=other_developer, thread=question, body="Try this.")
    with pytest.raises(PermissionDenied):
        services.thread_solution_mark(thread=question, post=answer, actor=third_developer)
    services.thread_solution_mark(thread=question, post=answer, actor=forum_moderator)
    services.thread_solution_clear(thread=question, actor=developer)
    question.refresh_from_db()
    assert question.solution is None
    reply = services.post_create(author=other_developer, thread=thread, body="Not a Q&A thread")
    with pytest.raises(ForumError, match="Q&A"):
        services.thread_solution_mark(thread=thread, post=reply, actor=developer)


def test_only_staff_start_announcements_but_everyone_replies(developer, forum_moderator, announcements):
    with pytest.raises(PermissionDenied):
        services.thread_create(author=developer, category=announcements, title="My announcement", body="Hi all")
    thread = services.thread_create(
        author=forum_moderator, category=announcements, title="Maintenance on Sunday", body="Downtime 1h."
    )
    reply = services.post_create(author=developer, thread=thread, body="Thanks for the notice")
    assert reply.number == 2


def test_nobody_but_staff_replies_to_a_locked_thread(developer, forum_moderator, thread):
    services.thread_lock(thread=thread, moderator=forum_moderator)
    with pytest.raises(PermissionDenied, match="locked"):
        services.post_create(author=developer, thread=thread, body="Still here")
    assert services.post_create(author=forum_moderator, thread=thread, body="Locked for a reason").number == 2


def test_the_preview_returns_the_sanitised_html(client, developer):
    client.force_login(developer)
    response = client.post("/forum/preview/", {"body": "**hi** <script>alert(1)</script>"})
    assert response.json()["html"] == "<p><strong>hi</strong> </p>"


def test_post_permalinks_go_to_the_right_page_and_anchor(client, developer, thread, settings):
    settings.FORUM_POSTS_PER_PAGE = 2
    for n in range(3):
        services.post_create(author=developer, thread=thread, body=f"Reply {n}")
    last = Post.objects.get(thread=thread, number=4)
    response = client.get(f"/forum/p/{last.pk}/")
    assert response["Location"] == f"{thread.get_absolute_url()}?page=2#post-4"
    page = client.get(response["Location"]).content.decode()
    assert "Reply 2" in page and "Reply 0" not in page


def test_a_wrong_slug_redirects_to_the_canonical_url(client, thread):
    response = client.get(f"/forum/t/old-title/{thread.pk}/")
    assert response.status_code == 301
    assert response["Location"] == thread.get_absolute_url()


def test_the_raw_source_of_a_visible_post_is_available_for_quoting(client, thread):
    response = client.get(f"/forum/p/{first_post(thread).pk}/raw/")
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == "I tried `curl` and got a 401. What am I missing?"


def test_the_edit_deadline_uses_the_post_creation_time(developer, thread, settings):
    settings.FORUM_EDIT_WINDOW_MINUTES = 10
    post = first_post(thread)
    age(post, minutes=5)
    services.post_edit(post=post, editor=developer, body="Within the window")
    assert post.created_at < timezone.now() - timedelta(minutes=4)
