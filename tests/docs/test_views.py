import pytest
from django.urls import reverse

from apps.docs.models import LessonProgress, Page, PageFeedback

from ..factories import UserFactory
from .conftest import CONTENT, english_hash, write

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


# --- docs pages -------------------------------------------------------------------------


def test_every_page_renders_in_both_languages(synced, client):
    for page in Page.objects.all():
        response = client.get(page.get_absolute_url())
        assert response.status_code == 200, page.source_path
        html = response.content.decode()
        assert f"<h1>{page.title}</h1>" in html.replace("&#x27;", "'"), page.source_path
        assert f'<html lang="{page.language}"' in html


def test_a_docs_page_has_sidebar_breadcrumbs_toc_neighbours_and_last_updated(synced, client):
    html = client.get("/docs/rate-limits/").content.decode()
    assert '<a href="/docs/rate-limits/" aria-current="page">Rate limits and quotas</a>' in html
    assert '<li aria-current="page">Rate limits and quotas</li>' in html  # breadcrumb
    assert 'href="#retrying-with-backoff"' in html  # on this page
    assert 'rel="prev"' in html and 'rel="next"' in html
    assert "Last updated" in html and "<time datetime=" in html
    assert 'href="/api/docs/"' in html  # the live API reference in the navigation


def test_the_edit_link_points_at_the_source_file_under_the_configured_base(synced, client, settings):
    assert "Edit this page" not in client.get("/docs/quickstart/").content.decode()
    settings.DOCS_EDIT_BASE_URL = "https://git.example.com/portal/edit/main/"
    html = client.get("/docs/quickstart/").content.decode()
    assert 'href="https://git.example.com/portal/edit/main/content/en/docs/quickstart.md"' in html


def test_the_language_switch_lands_on_the_same_page_in_chinese(synced, client):
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/docs/errors/"})
    assert response["Location"] == "/zh-hans/docs/errors/"
    html = client.get(response["Location"]).content.decode()
    assert "<h1>错误</h1>" in html
    assert 'data-translation="outdated"' not in html


def test_a_missing_page_is_a_404(synced, client):
    assert client.get("/docs/no-such-page/").status_code == 404
    assert client.get("/docs/v9/quickstart/").status_code == 404


# --- translations -----------------------------------------------------------------------


def test_an_outdated_translation_shows_a_banner_linking_the_english_page(tree, sync, client):
    sync(tree)
    assert 'data-translation="outdated"' not in client.get("/zh-hans/docs/guide/").content.decode()
    english = tree / "en/docs/guide.md"
    english.write_text(english.read_text().replace("Body text", "New body text"))
    sync(tree)
    html = client.get("/zh-hans/docs/guide/").content.decode()
    assert 'data-translation="outdated"' in html
    assert 'href="/docs/guide/" lang="en"' in html
    assert "<h1>指南</h1>" in html


def test_a_missing_translation_shows_the_english_page_with_a_banner(tree, sync, client):
    sync(tree)
    html = client.get("/zh-hans/docs/").content.decode()
    assert 'data-translation="missing"' in html
    assert "<h1>Overview</h1>" in html
    assert '<article class="docs-article" lang="en">' in html


def test_the_translation_status_page_lists_each_page_per_language_for_staff_only(tree, sync, client, owner, admin_user):
    sync(tree)
    url = reverse("docs:status")
    assert client.get(url).status_code == 302  # anonymous: log in first
    client.force_login(owner)
    assert client.get(url).status_code == 404
    client.force_login(admin_user)
    html = client.get(url).content.decode()
    assert html.count('data-state="missing"') == 1  # the overview
    assert html.count('data-state="current"') == 1  # the guide
    assert english_hash(tree, "docs/guide.md") in html


# --- versions ---------------------------------------------------------------------------


def test_a_second_api_version_brings_a_switcher_and_an_old_version_banner(tree, sync, client):
    sync(tree)
    assert "data-version-banner" not in client.get("/docs/guide/").content.decode()
    assert 'aria-label="API version"' not in client.get("/docs/guide/").content.decode()
    write(tree, "en/docs/v2/guide.md", "---\ntitle: Guide v2\nsection: api\nversion: v2\n---\nNew.\n")
    sync(tree)
    current = client.get("/docs/guide/").content.decode()
    assert "<h1>Guide v2</h1>" in current and 'aria-label="API version"' in current
    assert "data-version-banner" not in current
    old = client.get("/docs/v1/guide/").content.decode()
    assert "<h1>Guide</h1>" in old and "data-version-banner" in old
    assert client.get("/docs/v2/guide/")["Location"] == "/docs/guide/"


# --- drafts -----------------------------------------------------------------------------


@pytest.fixture
def draft(tree, sync):
    write(tree, "en/docs/secret.md", "---\ntitle: Unreleased feature\nsection: api\ndraft: true\n---\nSoon.\n")
    sync(tree)
    return "/docs/secret/"


def test_a_draft_is_a_404_for_visitors_and_developers(draft, client, owner):
    assert client.get(draft).status_code == 404
    client.force_login(owner)
    assert client.get(draft).status_code == 404
    assert "Unreleased feature" not in client.get("/docs/guide/").content.decode()
    assert "Unreleased" not in client.get("/search/?q=unreleased").content.decode()


def test_staff_preview_a_draft_with_a_notice(draft, client, admin_user):
    client.force_login(admin_user)
    html = client.get(draft).content.decode()
    assert "<h1>Unreleased feature</h1>" in html and "Draft preview." in html


# --- feedback ---------------------------------------------------------------------------


def test_feedback_is_counted_once_per_reader_and_page(tree, sync, client):
    sync(tree)
    page = Page.objects.get(language="en", slug="guide")
    url = reverse("docs:feedback", kwargs={"page_id": page.pk})
    response = client.post(url, {"helpful": "no", "comment": "Needs an example.", "next": "/docs/guide/"})
    assert response.status_code == 302 and response["Location"] == "/docs/guide/"
    client.post(url, {"helpful": "yes", "next": "https://evil.example.com/"})
    feedback = PageFeedback.objects.get()
    assert feedback.helpful is True and feedback.page == page
    assert client.post(url, {"helpful": "maybe"}).status_code == 302
    assert PageFeedback.objects.count() == 1


def test_feedback_on_a_draft_is_refused_for_outsiders(draft, client):
    page = Page.objects.get(slug="secret")
    assert client.post(reverse("docs:feedback", kwargs={"page_id": page.pk}), {"helpful": "yes"}).status_code == 404


# --- courses ----------------------------------------------------------------------------

COURSE = "sentiment-in-production"


def test_a_developer_marks_lessons_complete_sees_progress_and_resumes(synced, client, owner):
    client.force_login(owner)
    course_url = reverse("docs:course", kwargs={"course": COURSE})
    html = client.get(course_url).content.decode()
    assert "0 of 3 lessons done" in html and "Start the course" in html
    first = reverse("docs:lesson_complete", kwargs={"course": COURSE, "lesson": "first-batch"})
    response = client.post(first, {"action": "complete"})
    assert response["Location"] == reverse("docs:lesson", kwargs={"course": COURSE, "lesson": "jobs-at-scale"})
    html = client.get(course_url).content.decode()
    assert "1 of 3 lessons done" in html
    assert f'href="/tutorials/{COURSE}/jobs-at-scale/" data-resume>Resume' in html
    # Progress is shared by both languages.
    assert "已完成 1 / 3 节课" in client.get(f"/zh-hans/tutorials/{COURSE}/").content.decode()
    for lesson in ("jobs-at-scale", "production-hardening"):
        client.post(reverse("docs:lesson_complete", kwargs={"course": COURSE, "lesson": lesson}))
    assert "You have completed this course." in client.get(course_url).content.decode()
    client.post(first, {"action": "undo"})
    html = client.get(course_url).content.decode()
    assert "2 of 3 lessons done" in html and f'href="/tutorials/{COURSE}/first-batch/" data-resume>Resume' in html


def test_progress_belongs_to_its_developer(synced, client, owner, outsider):
    LessonProgress.objects.create(user=owner, course=COURSE, lesson="first-batch")
    client.force_login(outsider)
    assert "0 of 3 lessons done" in client.get(reverse("docs:course", kwargs={"course": COURSE})).content.decode()


def test_an_anonymous_reader_is_asked_to_log_in_to_track_progress(synced, client):
    lesson = reverse("docs:lesson", kwargs={"course": COURSE, "lesson": "first-batch"})
    assert "to keep track of your progress" in client.get(lesson).content.decode()
    response = client.post(reverse("docs:lesson_complete", kwargs={"course": COURSE, "lesson": "first-batch"}))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")
    assert not LessonProgress.objects.exists()


def test_completing_a_lesson_that_does_not_exist_is_a_404(synced, client, owner):
    client.force_login(owner)
    url = reverse("docs:lesson_complete", kwargs={"course": COURSE, "lesson": "no-such-lesson"})
    assert client.post(url).status_code == 404
    assert not LessonProgress.objects.exists()


def test_the_tutorials_page_lists_both_courses_with_level_and_length(synced, client):
    html = client.get(reverse("docs:tutorials")).content.decode()
    assert "Sentiment analysis in production" in html and "Build a support-ticket router" in html
    assert "Beginner" in html and "Intermediate" in html and "45 minutes" in html


# --- query counts -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/docs/",
        "/docs/rate-limits/",
        "/zh-hans/docs/rate-limits/",
        "/tutorials/",
        f"/tutorials/{COURSE}/",
        f"/tutorials/{COURSE}/first-batch/",
        "/search/?q=key",
        "/zh-hans/search/?q=密钥",
    ],
)
def test_list_pages_use_a_fixed_number_of_queries(synced, client, django_assert_max_num_queries, url):
    client.force_login(UserFactory())
    with django_assert_max_num_queries(12):
        assert client.get(url).status_code == 200


def test_the_chinese_docs_interface_is_translated(synced, client):
    html = client.get("/zh-hans/docs/rate-limits/").content.decode()
    for text in ("此页面对你有帮助吗？", "本页内容", "最后更新", "使用 API", "文档菜单", "复制", "上一篇", "下一篇"):
        assert text in html, text
    for english in ("Was this page helpful?", "On this page", "Last updated", "Documentation menu", ">Copy<"):
        assert english not in html, english
    assert "在体验场中打开" in client.get("/zh-hans/docs/quickstart/").content.decode()


# --- the site's own address in samples --------------------------------------------------


def test_the_quickstart_shows_the_address_of_the_portal_serving_it(synced, client, settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "portal.test"]
    for path in ("/docs/quickstart/", "/zh-hans/docs/quickstart/"):
        html = client.get(path, HTTP_HOST="portal.test:8765").content.decode()
        sample = html.split('id="code-quickstart-env">', 1)[1].split("</code>", 1)[0]
        assert '<span data-site-url="">http://portal.test:8765</span>' in sample, sample
        assert "127.0.0.1:8000" not in sample
    # The stored Markdown keeps the local default, so the samples run as written.
    # The Markdown keeps the local address, so that the sample tests run it as written.
    assert "export PORTAL_URL=http://127.0.0.1:8000\n" in (CONTENT / "en/docs/quickstart.md").read_text()
