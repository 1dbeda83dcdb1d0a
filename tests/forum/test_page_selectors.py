"""The reads behind one page of the forum (``apps.forum.selectors.pages``): a page of a
thread list or of a member's activity, the categories a member may start a thread in, and
what the thread page offers on each post."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.apikeys import keyformat
from apps.forum import services
from apps.forum.selectors import forum_viewer, post_page, thread_get
from apps.forum.selectors.pages import (
    category_choices_postable,
    member_tab_page,
    posts_mark_actions,
    thread_list_page,
    thread_solution_visible,
)

from .factories import age, first_post, make_thread

pytestmark = pytest.mark.django_db


@pytest.mark.embedded
def test_a_thread_list_page_holds_one_page_and_a_page_past_the_end_shows_the_last(settings, general, developer):
    settings.FORUM_THREADS_PER_PAGE = 2
    for number in range(5):
        make_thread(category=general, author=developer, title=f"Numbered thread {number}")
    viewer = forum_viewer(developer)
    first = thread_list_page(viewer=viewer, sort="latest", period="month", page_number=None)
    assert len(first.object_list) == 2 and first.number == 1 and first.paginator.num_pages == 3
    last = thread_list_page(viewer=viewer, sort="latest", period="month", page_number="99")
    assert last.number == 3 and [t.title for t in last.object_list] == ["Numbered thread 0"]
    assert thread_list_page(viewer=viewer, sort="latest", period="month", page_number="x").number == 1


def test_a_thread_list_page_marks_threads_a_member_has_not_read_as_new(general, developer, other_developer):
    make_thread(category=general, author=other_developer, title="Nobody read this one yet")
    page = thread_list_page(viewer=forum_viewer(developer), sort="latest", period="month", page_number=None)
    assert [t.is_new for t in page.object_list] == [True]
    own = thread_list_page(viewer=forum_viewer(other_developer), sort="latest", period="month", page_number=None)
    assert [t.is_new for t in own.object_list] == [False]


def test_a_thread_list_page_keeps_staff_only_threads_from_members(general, staff_lounge, developer, forum_moderator):
    make_thread(category=staff_lounge, author=forum_moderator, title="Staff only planning")
    make_thread(category=general, author=developer, title="Public question here")
    member = thread_list_page(viewer=forum_viewer(developer), sort="latest", period="month", page_number=None)
    staff = thread_list_page(viewer=forum_viewer(forum_moderator), sort="latest", period="month", page_number=None)
    assert [t.title for t in member.object_list] == ["Public question here"]
    assert {t.title for t in staff.object_list} == {"Public question here", "Staff only planning"}


def test_a_thread_list_page_of_a_category_or_tag_holds_only_its_threads(general, qa, developer):
    make_thread(category=general, author=developer, title="In general, not Q&A")
    make_thread(category=qa, author=developer, title="In Q&A, not general")
    page = thread_list_page(
        viewer=forum_viewer(developer), sort="latest", period="month", page_number=None, category=qa
    )
    assert [t.title for t in page.object_list] == ["In Q&A, not general"]


@pytest.mark.embedded
def test_a_member_tab_page_shows_their_threads_or_their_replies(general, developer, other_developer):
    mine = make_thread(category=general, author=developer, title="A thread by dev")
    make_thread(category=general, author=other_developer, title="A thread by someone else")
    services.post_create(author=developer, thread=mine, body="A reply by dev")
    viewer = forum_viewer(other_developer)
    threads = member_tab_page(viewer=viewer, member=developer, tab="threads", page_number=None)
    replies = member_tab_page(viewer=viewer, member=developer, tab="replies", page_number=None)
    assert [t.title for t in threads.object_list] == ["A thread by dev"]
    assert [p.body for p in replies.object_list] == ["A reply by dev"]


def test_a_member_tab_page_hides_a_hidden_reply_from_members_but_not_from_staff(
    general, developer, other_developer, forum_moderator
):
    thread = make_thread(category=general, author=other_developer, title="Somebody's question")
    hidden = services.post_create(author=developer, thread=thread, body="Buy cheap things here")
    services.post_hide(post=hidden, moderator=forum_moderator, reason="Spam")
    member = member_tab_page(viewer=forum_viewer(other_developer), member=developer, tab="replies", page_number=None)
    staff = member_tab_page(viewer=forum_viewer(forum_moderator), member=developer, tab="replies", page_number=None)
    assert list(member.object_list) == []
    assert [p.pk for p in staff.object_list] == [hidden.pk]


@pytest.mark.embedded
def test_members_may_start_threads_where_anyone_posts_and_staff_in_announcements_too(
    general, announcements, staff_lounge, developer, forum_moderator
):
    assert category_choices_postable(viewer=forum_viewer(developer)) == [general]
    assert set(category_choices_postable(viewer=forum_viewer(forum_moderator))) == {
        general,
        announcements,
        staff_lounge,
    }


def test_a_silenced_member_may_start_a_thread_nowhere(general, developer, forum_moderator):
    services.user_silence(user=developer, moderator=forum_moderator, reason="Cool down", until=None)
    assert category_choices_postable(viewer=forum_viewer(developer)) == []


@pytest.mark.embedded
def test_the_thread_page_offers_authors_edits_and_others_likes_and_flags(
    general, developer, other_developer, django_assert_num_queries
):
    thread = make_thread(category=general, author=developer, title="Marked up for each viewer", replies=1)
    for user, own in ((developer, True), (other_developer, False)):
        viewer = forum_viewer(user)
        posts = post_page(viewer=viewer, thread=thread_get(viewer=viewer, pk=thread.pk)).posts
        with django_assert_num_queries(0):
            posts_mark_actions(viewer=viewer, thread=thread, posts=posts)
        assert [(p.can_edit, p.can_like, p.can_flag) for p in posts] == [(own, not own, not own)] * 2
        assert [p.is_solution for p in posts] == [False, False]
        assert posts[0].edit_deadline == posts[0].created_at + timedelta(days=1)


def test_the_thread_page_offers_no_second_flag_and_marks_the_solution(developer, other_developer, question):
    answer = services.post_create(author=other_developer, thread=question, body="It is still queued.")
    services.thread_solution_mark(thread=question, post=answer, actor=developer)
    services.flag_create(post=first_post(question), flagger=other_developer, reason="off_topic")
    viewer = forum_viewer(other_developer)
    thread = thread_get(viewer=viewer, pk=question.pk)
    posts = posts_mark_actions(viewer=viewer, thread=thread, posts=post_page(viewer=viewer, thread=thread).posts)
    assert [p.can_flag for p in posts] == [False, False]  # flagged already; own reply
    assert [p.is_solution for p in posts] == [False, True]
    assert [p.can_solve for p in posts] == [False, False]  # only the asker (or staff) chooses
    asker = forum_viewer(developer)
    posts = posts_mark_actions(viewer=asker, thread=thread, posts=post_page(viewer=asker, thread=thread).posts)
    assert [p.can_solve for p in posts] == [False, True]


def test_an_author_may_no_longer_edit_after_the_edit_window(general, developer):
    thread = make_thread(category=general, author=developer, title="Written a long time ago")
    age(first_post(thread), days=2)
    viewer = forum_viewer(developer)
    posts = posts_mark_actions(viewer=viewer, thread=thread, posts=post_page(viewer=viewer, thread=thread).posts)
    assert posts[0].can_edit is False and posts[0].edit_deadline < timezone.now()


@pytest.mark.embedded
def test_the_solution_is_shown_only_to_those_who_may_see_it(developer, other_developer, third_developer, question):
    assert (
        thread_solution_visible(viewer=forum_viewer(third_developer), thread=thread_get(viewer=None, pk=question.pk))
        is None
    )
    answer = services.post_create(author=other_developer, thread=question, body="It is still queued.")
    services.thread_solution_mark(thread=question, post=answer, actor=developer)
    shown = thread_solution_visible(
        viewer=forum_viewer(third_developer), thread=thread_get(viewer=None, pk=question.pk)
    )
    assert shown is not None and shown.pk == answer.pk


def test_a_solution_held_after_an_edit_is_shown_to_its_author_and_staff_only(
    developer, other_developer, third_developer, forum_moderator, question
):
    answer = services.post_create(author=other_developer, thread=question, body="It is still queued.")
    services.thread_solution_mark(thread=question, post=answer, actor=developer)
    key = keyformat.generate()
    services.post_edit(post=answer, editor=other_developer, body=f"It is still queued. My key: {key.raw}")
    for user, sees in ((third_developer, False), (other_developer, True), (forum_moderator, True)):
        viewer = forum_viewer(user)
        thread = thread_get(viewer=viewer, pk=question.pk)
        assert thread.solution_id == answer.pk
        assert (thread_solution_visible(viewer=viewer, thread=thread) is not None) is sees
