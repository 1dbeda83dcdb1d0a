import re

import pytest
from playwright.sync_api import expect

from apps.docs.services import content_sync

from .conftest import PHONE, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def docs(page):
    content_sync()
    return page


def test_a_docs_page_on_a_phone_fits_the_screen_and_puts_the_article_first(docs):
    page = docs
    page.set_viewport_size(PHONE)
    page.goto(page.base + "/docs/quickstart/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    nav = page.locator("details[data-docs-nav]")
    assert nav.evaluate("el => el.open") is False  # the menu folds away on a phone
    heading = page.get_by_role("heading", level=1, name="Quickstart")
    assert heading.is_visible()
    assert heading.bounding_box()["y"] < 600
    page.get_by_text("Documentation menu").click()
    assert nav.get_by_role("link", name="Rate limits and quotas").is_visible()
    # Code tabs switch without scripts of ours: CSS and radio buttons.
    page.locator("label", has_text="Python").first.click()
    assert page.locator("#code-quickstart-python").is_visible()
    assert not page.locator("#code-quickstart-curl").is_visible()
    screenshot(page, "docs-quickstart-phone")
    assert page.js_errors == []


def test_the_copy_button_copies_the_code_sample(docs):
    page = docs
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=page.base)
    page.goto(page.base + "/docs/contributing/")
    button = page.locator('button[data-copy-target="code-contrib-sync"]')
    button.click()
    # The page marks the button once the clipboard's promise resolves: wait for it.
    expect(button).to_have_class("copy-button is-copied")
    expect(button).to_contain_text("Copied to clipboard")
    assert page.evaluate("navigator.clipboard.readText()") == "python manage.py sync_content"
    assert page.js_errors == []


def test_the_language_switch_shows_the_same_docs_page_in_chinese(docs):
    page = docs
    page.goto(page.base + "/docs/errors/")
    page.get_by_label(re.compile("Language", re.I)).select_option("zh-hans")
    page.wait_for_url(re.compile(r"/zh-hans/docs/errors/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "错误"
    assert page.get_by_text("此页面对你有帮助吗？").is_visible()
    screenshot(page, "docs-errors-zh-hans")
    assert page.js_errors == []
