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
