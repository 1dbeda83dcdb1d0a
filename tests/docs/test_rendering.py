"""Each Markdown extension the docs rely on, rendered through the sync as a page would be."""

import re

import pytest

from apps.docs.models import Page

from .conftest import write

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

SOURCE = """
---
title: Everything
section: api
---
## Code tabs

=== "curl"

    <!-- sample: id=tab-curl check=api playground=1 -->
    ```sh
    curl -sS "$PORTAL_URL/api/v1/classify" -d '{"model": "sentiment-demo", "inputs": ["Great & fast"]}'
    ```

=== "Python"

    <!-- sample: id=tab-python check=run -->
    ```python
    print("hello")
    ```

## Tables and admonitions

| Type | Status |
|---|---|
| `rate_limited` | 429 |

!!! warning "Careful"
    Keys are shown once.

## Lists and notes

- [x] done
- [ ] to do

A claim.[^1]

[^1]: The source.

<script>alert(1)</script>
<p onclick="steal()">Raw HTML is sanitised even here.</p>
"""


@pytest.fixture
def page(tree, sync):
    write(tree, "en/docs/everything.md", SOURCE)
    sync(tree)
    return Page.objects.get(slug="everything")


def test_fenced_code_is_highlighted_by_pygments(page):
    assert '<div class="language-python highlight">' in page.html
    assert '<span class="nb">print</span>' in page.html


def test_code_tabs_render_as_a_tab_set_with_labels(page):
    assert 'class="tabbed-set tabbed-alternate"' in page.html
    assert re.search(r'<label for="__tabbed_1_1">curl</label><label for="__tabbed_1_2">Python</label>', page.html)


def test_every_code_block_gets_a_copy_button_pointing_at_its_code(page):
    buttons = re.findall(r'data-copy-target="([^"]+)"', page.html)
    assert buttons == ["code-tab-curl", "code-tab-python"]
    for target in buttons:
        assert f'<code id="{target}">' in page.html
    assert page.samples == [
        {"id": "tab-curl", "lang": "sh", "check": "api", "line": 10, "playground": "1"},
        {"id": "tab-python", "lang": "python", "check": "run", "line": 17},
    ]


def test_an_api_sample_opens_the_playground_with_its_model_and_inputs(page):
    assert 'href="/playground/?model=sentiment-demo&amp;input=Great+%26+fast"' in page.html
    assert page.html.count("Open in playground") == 1


def test_tables_admonitions_task_lists_and_footnotes_render(page):
    assert "<table>" in page.html and "<td><code>rate_limited</code></td>" in page.html
    assert '<div class="admonition warning">' in page.html and '<p class="admonition-title">Careful</p>' in page.html
    assert '<input type="checkbox" disabled="" checked="">' in page.html
    assert 'class="footnote-ref"' in page.html and 'id="fn:1"' in page.html


def test_headings_get_anchors_and_a_table_of_contents(page):
    assert '<h2 id="code-tabs">Code tabs<a class="headerlink" href="#code-tabs"' in page.html
    assert [item["id"] for item in page.toc] == ["code-tabs", "tables-and-admonitions", "lists-and-notes"]
    assert "Tables and admonitions" in page.search_headings


def test_raw_html_is_sanitised_even_in_trusted_content(page):
    assert "<script" not in page.html and "alert(1)" not in page.html
    assert "onclick" not in page.html
    assert "Raw HTML is sanitised even here." in page.html


def test_internal_links_and_images_point_at_their_urls_in_the_page_language(tree, sync):
    sync(tree)
    overview = Page.objects.get(language="en", slug="")
    assert 'href="/docs/guide/#details"' in overview.html
    assert 'src="/docs/_/media/images/flow.svg"' in overview.html


def test_chinese_headings_get_readable_anchors_and_segmented_search_text(tree, sync):
    sync(tree)
    chinese = Page.objects.get(language="zh-hans", slug="guide")
    assert '<h2 id="细节">' in chinese.html
    assert "回调" in chinese.search_body.split()
    assert chinese.plain_text.startswith("细节 关于回调的正文。")


def test_a_line_break_inside_a_chinese_paragraph_adds_no_space(tree, sync):
    write(
        tree,
        "zh-hans/docs/index.md",
        """
        ---
        title: 概览
        section: get-started
        source_hash: x
        ---
        第一行结尾是逗号，
        第二行接着写，然后是
        `code` 和 English words
        continue here.

        - 列表项一，
          续行。
        """,
    )
    sync(tree)
    html = Page.objects.get(language="zh-hans", slug="").html
    assert "<p>第一行结尾是逗号，第二行接着写，然后是<code>code</code> 和 English words\ncontinue here.</p>" in html
    assert "<li>列表项一，续行。</li>" in html
