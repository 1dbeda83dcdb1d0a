"""Course progress and page feedback: the writes behind the lesson and feedback buttons."""

import pytest
from django.contrib.auth.models import AnonymousUser

from apps.docs.models import Page, PageFeedback
from apps.docs.selectors import completed_lessons
from apps.docs.services import lesson_progress_set, page_feedback_record

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def test_marking_a_lesson_twice_counts_once_and_undoing_clears_only_that_lesson_of_that_user(owner, outsider):
    for user in (owner, owner, outsider):
        lesson_progress_set(user=user, course="intro", lesson="one", complete=True)
    lesson_progress_set(user=owner, course="intro", lesson="two", complete=True)
    assert completed_lessons(user=owner) == {"intro": {"one", "two"}}
    lesson_progress_set(user=owner, course="intro", lesson="one", complete=False)
    lesson_progress_set(user=owner, course="intro", lesson="never-done", complete=False)
    assert completed_lessons(user=owner) == {"intro": {"two"}}
    assert completed_lessons(user=outsider) == {"intro": {"one"}}


def test_answering_again_changes_the_answer_unless_it_is_gone_or_belongs_to_another_page(tree, sync, owner):
    sync(tree)
    guide, overview = Page.objects.get(slug="guide", language="en"), Page.objects.get(slug="", language="en")
    reader = AnonymousUser()
    first = page_feedback_record(
        page=guide, helpful=False, comment="  Needs an example.  ", user=reader, previous_id=None
    )
    assert (first.helpful, first.comment, first.user) == (False, "Needs an example.", None)
    again = page_feedback_record(page=guide, helpful=True, comment="", user=owner, previous_id=first.pk)
    assert again.pk == first.pk and (again.helpful, again.comment, again.user) == (True, "", owner)
    # An id from another page's answer does not touch that answer.
    other = page_feedback_record(page=overview, helpful=False, comment="", user=reader, previous_id=first.pk)
    assert other.pk != first.pk and other.page == overview
    assert PageFeedback.objects.get(pk=first.pk).helpful is True
    # An answer removed in the admin since: the reader's new answer is counted afresh.
    PageFeedback.objects.filter(pk=first.pk).delete()
    fresh = page_feedback_record(page=guide, helpful=False, comment="x" * 3000, user=reader, previous_id=first.pk)
    assert fresh.pk != first.pk and len(fresh.comment) == 2000
    assert PageFeedback.objects.filter(page=guide).count() == 1
