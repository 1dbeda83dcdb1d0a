"""The forum in a real browser: a question answered and solved, a flag handled from the
review queue, and the pages on a phone and by keyboard."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.accounts import roles
from apps.forum import services
from apps.forum.models import Access, Category, CategoryKind, Flag, Post, Thread

from ..factories import PASSWORD, UserFactory
from .conftest import PHONE, log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _member(username, **kwargs):
    user = UserFactory(username=username, **kwargs)
    user.date_joined = timezone.now() - timedelta(days=30)
    user.save(update_fields=["date_joined"])
    user.profile.display_name = username.title()
    user.profile.save()
    return user


@pytest.fixture
def forum(db, settings):
    settings.FORUM_MIN_SECONDS_BETWEEN_POSTS = 0  # the set-up posts several times in a row
    Category.objects.create(slug="qa", name="Q&A", kind=CategoryKind.QA, color="green", position=1)
    Category.objects.create(slug="general", name="General", color="blue", position=2)
    Category.objects.create(
        slug="announcements", name="Announcements", post_access=Access.STAFF, color="red", position=0
    )
    return {
        "asker": _member("asker"),
        "helper": _member("helper"),
        "moderator": _member("mod", role=roles.MODERATOR),
    }


def test_a_developer_asks_another_answers_and_the_author_marks_the_solution(browser, page, forum):
    asker_page = page
    log_in(asker_page, forum["asker"].email, PASSWORD)
    asker_page.goto(asker_page.base + "/forum/")
    asker_page.get_by_role("link", name="New thread").click()
    asker_page.get_by_label("Category").select_option(label="Q&A")
    asker_page.get_by_label("Title").fill("Why do I get a 202 from classify?")
    asker_page.get_by_label("Message").fill("I call `POST /api/v1/classify` and get **202**. Why?")
    asker_page.get_by_role("button", name="Create thread").click()
    asker_page.wait_for_url(re.compile(r"/forum/t/why-do-i-get-a-202-from-classify/"))
    assert asker_page.locator("h1").inner_text() == "Why do I get a 202 from classify?"
    thread_url = asker_page.url

    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    helper_page = context.new_page()
    helper_page.base = page.base
    log_in(helper_page, forum["helper"].email, PASSWORD)
    helper_page.goto(thread_url)
    helper_page.get_by_label("Your reply").fill('The job was still queued: pass `"wait": 30` or poll the job URL.')
    helper_page.get_by_role("button", name="Post reply").click()
    expect(helper_page.locator("#post-2").get_by_text("poll the job URL")).to_be_visible()
    context.close()

    asker_page.goto(thread_url)
    answer = asker_page.locator("#post-2")
    answer.get_by_role("button", name="Mark as solution").click()
    expect(asker_page.locator("#post-2").get_by_text("Accepted solution")).to_be_visible()
    assert asker_page.get_by_role("complementary").get_by_text("Answered by Helper").is_visible()
    screenshot(asker_page, "forum-thread-solved")

    asker_page.goto(asker_page.base + "/forum/solved/")
    row = asker_page.locator(".topic", has_text="Why do I get a 202 from classify?")
    assert row.get_by_text("Solved").is_visible()
    thread = Thread.objects.get()
    assert thread.solution == Post.objects.get(thread=thread, number=2)
    assert asker_page.js_errors == []


def test_a_moderator_hides_a_flagged_post_from_the_review_queue(page, forum):
    qa = Category.objects.get(slug="qa")
    thread = services.thread_create(
        author=forum["asker"], category=qa, title="Where do I find my API key?", body="I lost it."
    )
    spam = services.post_create(author=forum["helper"], thread=thread, body="Cheap API keys at spam.example!!!")
    reporter = _member("reporter")
    services.flag_create(post=spam, flagger=reporter, reason="spam", text="Selling keys")

    log_in(page, forum["moderator"].email, PASSWORD)
    page.goto(page.base + "/forum/")
    page.get_by_role("link", name=re.compile(r"^Review")).first.click()
    page.wait_for_url(re.compile(r"/forum/review/"))
    item = page.locator(".review-item", has_text="Cheap API keys")
    assert item.get_by_text("Selling keys").is_visible()
    screenshot(page, "forum-review-queue")
    item.get_by_role("button", name="Hide", exact=True).click()
    expect(page.get_by_text("Nothing is waiting for review")).to_be_visible()

    spam.refresh_from_db()
    assert spam.hidden_at is not None
    assert Flag.objects.get().status == "agreed"
    page.context.clear_cookies()
    page.goto(page.base + thread.get_absolute_url())
    assert page.get_by_text("Cheap API keys").count() == 0
    assert page.js_errors == []


def test_the_forum_works_on_a_phone_and_by_keyboard(page, forum):
    qa = Category.objects.get(slug="qa")
    thread = services.thread_create(
        author=forum["asker"],
        category=qa,
        title="A question with a long code sample that must not widen the page on a phone",
        body="```python\n" + "x = 'a very long line of code that goes on and on' * 10\n" * 3 + "```",
    )
    for n in range(3):
        services.post_create(author=forum["helper"], thread=thread, body=f"Answer number {n}")
    page.set_viewport_size(PHONE)
    log_in(page, forum["asker"].email, PASSWORD)
    for path in ("/forum/", "/forum/categories/", thread.get_absolute_url(), "/forum/new/"):
        page.goto(page.base + path)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
    page.goto(page.base + thread.get_absolute_url())
    screenshot(page, "forum-thread-phone")

    # j / k move between posts; the focused post is announced by its author and number.
    page.locator("body").click(position={"x": 5, "y": 200})
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.id") in ("post-2", "post-3")
    # The reply box and its button are reachable with the keyboard alone.
    page.get_by_label("Your reply").focus()
    page.keyboard.type("Thanks, all of you!")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused in ("Preview", "Post reply")
    page.get_by_role("button", name="Post reply").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"#post-5$"))
    assert page.locator("#post-5").get_by_text("Thanks, all of you!").is_visible()
    assert page.js_errors == []


def test_like_updates_the_count_in_place_without_reloading_the_page(page, forum):
    qa = Category.objects.get(slug="qa")
    thread = services.thread_create(
        author=forum["asker"], category=qa, title="How do I rotate a key?", body="Is there an endpoint?"
    )
    answer = services.post_create(author=forum["helper"], thread=thread, body="Create a new key, then revoke the old.")
    log_in(page, forum["asker"].email, PASSWORD)
    page.goto(page.base + thread.get_absolute_url())
    page.evaluate("window.likeMarker = 'still here'")
    like = page.locator("#post-2 form[data-like-form] button")
    expect(like).to_have_attribute("aria-pressed", "false")

    with page.expect_request(lambda request: request.method == "POST") as liked:
        like.click()
    assert liked.value.url == f"{page.base}/forum/p/{answer.pk}/like/"
    expect(like).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#post-2 [data-like-count]")).to_have_text("1")
    assert page.evaluate("window.likeMarker") == "still here"
    assert list(answer.likes.values_list("user__username", flat=True)) == ["asker"]

    with page.expect_request(lambda request: request.method == "POST") as unliked:
        like.click()
    assert unliked.value.url == liked.value.url
    expect(like).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#post-2 [data-like-count]")).to_have_text("0")
    assert page.evaluate("window.likeMarker") == "still here"
    assert not answer.likes.exists()
    assert page.js_errors == []
