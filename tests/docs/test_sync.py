import re

import pytest
from django.core.management import CommandError, call_command

from apps.docs.content import ContentError
from apps.docs.models import Page

from .conftest import write

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def test_a_second_sync_of_unchanged_files_writes_nothing(tree, sync):
    first = sync(tree)
    assert len(first.created) == 3 and not first.updated and not first.deleted
    stamps = dict(Page.objects.values_list("source_path", "updated_at"))
    second = sync(tree)
    assert not second.changed and second.unchanged == 3
    assert dict(Page.objects.values_list("source_path", "updated_at")) == stamps


def test_an_edited_file_updates_only_its_own_page(tree, sync):
    sync(tree)
    before = dict(Page.objects.values_list("source_path", "updated_at"))
    path = tree / "en/docs/guide.md"
    path.write_text(path.read_text().replace("webhooks", "callbacks"))
    report = sync(tree)
    assert report.updated == ["content/en/docs/guide.md"] and not report.created
    after = dict(Page.objects.values_list("source_path", "updated_at"))
    assert after["content/en/docs/guide.md"] > before["content/en/docs/guide.md"]
    assert after["content/en/docs/index.md"] == before["content/en/docs/index.md"]
    assert "callbacks" in Page.objects.get(source_path="content/en/docs/guide.md").html


def test_a_deleted_file_removes_its_page(tree, sync):
    sync(tree)
    (tree / "zh-hans/docs/guide.md").unlink()
    report = sync(tree)
    assert report.deleted == ["content/zh-hans/docs/guide.md"]
    assert not Page.objects.filter(language="zh-hans").exists()


def test_a_broken_link_fails_the_sync_with_file_and_line_and_writes_nothing(tree, sync):
    sync(tree)
    write(
        tree,
        "en/docs/broken.md",
        """
        ---
        title: Broken
        section: api
        ---
        Fine line.

        See [the missing page](missing.md).
        """,
    )
    with pytest.raises(ContentError) as caught:
        sync(tree)
    assert str(caught.value) == "content/en/docs/broken.md:7: broken link: 'missing.md' is not a page"
    assert not Page.objects.filter(title="Broken").exists()


def test_a_missing_image_fails_the_sync_with_file_and_line(tree, sync):
    (tree / "images/flow.svg").unlink()
    with pytest.raises(ContentError, match=re.escape("content/en/docs/index.md:6: missing image")):
        sync(tree)
    assert not Page.objects.exists()


def test_a_link_to_a_heading_that_does_not_exist_fails(tree, sync):
    path = tree / "en/docs/index.md"
    path.write_text(path.read_text().replace("guide.md#details", "guide.md#nowhere"))
    with pytest.raises(
        ContentError, match=r"index\.md:6: broken link: .*guide\.md has no heading with the id #nowhere"
    ):
        sync(tree)


def test_a_site_path_that_no_page_answers_fails(tree, sync):
    path = tree / "en/docs/guide.md"
    path.write_text(path.read_text() + "\nSee [nothing](/no-such-page/).\n")
    with pytest.raises(ContentError, match=r"guide\.md:11: broken link: no page answers '/no-such-page/'"):
        sync(tree)


def test_bad_front_matter_names_the_key_and_its_line(tree, sync):
    path = tree / "en/docs/guide.md"
    path.write_text(path.read_text().replace("order: 1", "order: 1\ncolour: blue"))
    with pytest.raises(ContentError, match=r"guide\.md:6: unknown front matter key 'colour'"):
        sync(tree)


def test_an_unknown_section_is_refused(tree, sync):
    path = tree / "en/docs/guide.md"
    path.write_text(path.read_text().replace("section: api", "section: misc"))
    with pytest.raises(ContentError, match=r"guide\.md:4: unknown section 'misc'"):
        sync(tree)


def test_a_sample_marker_away_from_its_fence_is_refused(tree, sync):
    path = tree / "en/docs/guide.md"
    path.write_text(path.read_text() + "\n<!-- sample: id=x check=run -->\n\n```python\nprint(1)\n```\n")
    with pytest.raises(ContentError, match="must be on the line just before its fence"):
        sync(tree)


def test_the_command_reports_what_changed_and_fails_with_file_and_line(tree, settings, capsys):
    settings.DOCS_CONTENT_DIR = tree
    call_command("sync_content", content_dir=tree)
    out = capsys.readouterr().out
    assert "Content: 3 created, 0 updated, 0 deleted, 0 unchanged." in out
    (tree / "images/flow.svg").unlink()
    with pytest.raises(CommandError, match=r"content/en/docs/index\.md:6: missing image"):
        call_command("sync_content", content_dir=tree)


def test_the_project_content_syncs_cleanly_and_every_page_exists_in_both_languages(synced):
    english = set(Page.objects.filter(language="en").values_list("kind", "course", "slug"))
    chinese = set(Page.objects.filter(language="zh-hans").values_list("kind", "course", "slug"))
    assert english == chinese
    assert len(english) >= 20
    assert not Page.objects.filter(draft=True).exists()


def test_every_translation_of_the_project_names_the_current_english_text(synced):
    english = {(p.kind, p.course, p.slug): p.body_hash for p in Page.objects.filter(language="en")}
    stale = [
        p.source_path
        for p in Page.objects.filter(language="zh-hans")
        if p.translation_of_hash != english[(p.kind, p.course, p.slug)]
    ]
    assert stale == [], "update these translations and their source_hash"


def test_the_demo_loader_syncs_the_content(db, settings):
    from io import StringIO

    from apps.docs import demo

    out = StringIO()
    demo.load(stdout=out)
    demo.load(stdout=out)
    assert "0 created, 0 updated, 0 deleted" in out.getvalue().splitlines()[-1]
    assert Page.objects.filter(slug="quickstart", language="zh-hans").exists()


def _links_page(tree, line: str) -> None:
    write(
        tree,
        "en/docs/links.md",
        f"""
        ---
        title: Links
        section: api
        ---
        ## Details

        {line}
        """,
    )


def test_links_out_of_the_site_to_the_api_to_site_pages_and_within_the_page_are_kept(tree, sync):
    _links_page(
        tree,
        "[Site](https://example.com/), [mail](mailto:help@example.com), [up](#details), "
        "[models](/api/v1/models#list), [forum](/forum/)",
    )
    sync(tree)
    html = Page.objects.get(slug="links").html
    for href in ("https://example.com/", "mailto:help@example.com", "#details", "/api/v1/models#list", "/forum/"):
        assert f'href="{href}"' in html


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("![Logo](https://example.com/logo.png)", "images must be files in content/, not https://example.com/logo.png"),
        ("[Up](#nowhere)", "broken link: content/en/docs/links.md has no heading with the id #nowhere"),
        ("[Out](../../../outside.md)", "the link '../../../outside.md' leaves the content directory"),
        ("![Guide](guide.md)", "'guide.md' is not an image (.gif, .jpeg, .jpg, .png, .svg, .webp)"),
        ("[Notes](../../images/notes.txt)", "link to the page's .md file, not '../../images/notes.txt'"),
        ("[Chinese](../../zh-hans/docs/guide.md)", "'../../zh-hans/docs/guide.md' is a page in another language"),
        ("[Guide](/docs/guide/)", "link to docs and tutorials by their .md file, not '/docs/guide/'"),
    ],
)
def test_a_link_the_site_cannot_serve_fails_the_sync_with_file_line_and_reason(tree, sync, line, message):
    _links_page(tree, line)
    with pytest.raises(ContentError) as caught:
        sync(tree)
    assert str(caught.value) == f"content/en/docs/links.md:7: {message}"
    assert not Page.objects.exists()


def test_a_lesson_needs_its_course_and_a_translation_needs_its_english_page(tree, sync):
    lesson = write(tree, "en/tutorials/orphan/first.md", "---\ntitle: First\n---\nBody.\n")
    with pytest.raises(ContentError) as caught:
        sync(tree)
    expected = "the lesson's course has no index.md (tutorials/orphan/index.md)"
    assert str(caught.value) == f"content/en/tutorials/orphan/first.md:1: {expected}"
    lesson.unlink()
    write(tree, "zh-hans/docs/only-here.md", "---\ntitle: 仅此一页\nsection: api\n---\n正文。\n")
    with pytest.raises(ContentError) as caught:
        sync(tree)
    assert (
        str(caught.value)
        == "content/zh-hans/docs/only-here.md:1: a translation needs the English page at the same path"
    )
    assert not Page.objects.exists()
