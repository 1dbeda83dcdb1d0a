import re

import pytest

from ..factories import PASSWORD, UserFactory
from .conftest import PHONE, log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_home_page_on_a_phone_has_a_working_menu_and_no_horizontal_scroll(page):
    page.set_viewport_size(PHONE)
    page.goto(page.base + "/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    toggle = page.get_by_role("button", name=re.compile("menu", re.I))
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    nav = page.get_by_role("navigation", name=re.compile("main|primary", re.I))
    assert nav.get_by_role("link", name="Forum").is_visible()
    screenshot(page, "home-phone-menu-open")
    page.keyboard.press("Escape")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert page.js_errors == []


def test_keyboard_users_reach_the_content_through_the_skip_link(page):
    page.goto(page.base + "/")
    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    assert "skip" in (skip.text_content() or "").lower()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id || document.activeElement.tagName") in ("main", "MAIN", "content")


def test_the_language_switcher_shows_the_same_page_in_chinese(page):
    page.goto(page.base + "/accounts/login/")
    page.get_by_label(re.compile("Language", re.I)).select_option("zh-hans")
    page.wait_for_url(re.compile(r"/zh-hans/accounts/login/$"))
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert "登录" in page.locator("main").inner_text()
    screenshot(page, "login-zh-hans")


def test_a_developer_logs_in_and_sees_their_initials_in_the_account_menu(page):
    user = UserFactory(username="grace")
    user.profile.display_name = "Grace Hopper"
    user.profile.save()
    log_in(page, user.email, PASSWORD)
    button = page.get_by_role("button", name=re.compile("Grace Hopper"))
    assert "GH" in button.inner_text()
    button.click()
    assert page.get_by_role("link", name="Profile").is_visible()
    assert page.get_by_role("link", name="Admin").count() == 0
    screenshot(page, "account-menu")
