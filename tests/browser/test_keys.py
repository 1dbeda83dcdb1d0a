"""The API-key pages in a real browser: on a phone, in Chinese, without console errors."""

import re

import pytest
from playwright.sync_api import expect

from apps.apikeys.models import APIKey, UsageRecord
from apps.apikeys.services import apikey_authenticate
from apps.core.errors import ApiKeyRevoked

from ..factories import PASSWORD, UserFactory
from .conftest import DESKTOP, PHONE, log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_developer_creates_copies_and_revokes_a_key_on_a_phone(page):
    user = UserFactory(username="ada")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=page.base)
    page.set_viewport_size(PHONE)
    log_in(page, user.email, PASSWORD)
    page.goto(page.base + "/account/keys/")
    assert _fits(page)
    screenshot(page, "keys-empty-phone")

    page.get_by_role("link", name="Create your first key").click()
    page.get_by_label(re.compile(r"^Name")).fill("phone test")
    page.get_by_label("Read usage").check()
    page.get_by_label(re.compile("Expires after")).fill("30")
    assert _fits(page)
    screenshot(page, "keys-create-phone")
    page.get_by_role("button", name="Create key").click()

    page.wait_for_url(re.compile(r"/account/keys/[0-9a-f-]+/secret/$"))
    field = page.get_by_label(re.compile("API key"))
    raw = field.input_value()
    assert re.fullmatch(r"pk_\w{8}_\w{38}", raw)
    assert "won't see it again" in page.locator("main").inner_text()
    copy = page.get_by_role("button", name="Copy")
    assert copy.is_visible()
    assert copy.get_attribute("data-copy-target") == "new-key"
    assert _fits(page)
    screenshot(page, "keys-reveal-once-phone")
    copy.click()
    expect(page.locator("#live-region")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == raw
    key = apikey_authenticate(raw=raw)
    assert key.scopes == ["models:read", "inference:write", "jobs:read", "usage:read"]

    page.reload()
    assert page.get_by_label(re.compile("API key")).count() == 0
    assert raw not in page.content()
    assert "already shown" in page.locator("main").inner_text()

    page.get_by_role("link", name="Back to your keys").click()
    card = page.locator(".key-card", has_text="phone test")
    assert f"{key.prefix}…" in card.inner_text()
    assert "Active" in card.inner_text()
    screenshot(page, "keys-list-phone")
    card.get_by_role("link", name=re.compile("^Revoke")).click()
    assert _fits(page)
    screenshot(page, "keys-revoke-confirm-phone")
    page.get_by_role("button", name="Revoke key").click()
    page.wait_for_url(re.compile(r"/account/keys/$"))
    assert "Revoked" in page.locator(".key-card", has_text="phone test").inner_text()
    with pytest.raises(ApiKeyRevoked):
        apikey_authenticate(raw=raw)
    assert page.js_errors == []


def test_the_usage_page_draws_its_charts_on_a_phone(page):
    user = UserFactory(username="lin")
    from apps.apikeys.services import apikey_create

    key, _raw = apikey_create(owner=user, name="charts", scopes=["models:read"])
    for status, error in [(200, ""), (200, ""), (429, "rate_limited")]:
        UsageRecord.objects.create(key=key, endpoint="POST /classify", status_code=status, error_type=error,
                                   inputs=2, latency_ms=20, queue_ms=4, inference_ms=15)  # fmt: skip
    page.set_viewport_size(PHONE)
    log_in(page, user.email, PASSWORD)
    page.goto(f"{page.base}/account/keys/{key.pk}/usage/")
    charts = page.get_by_role("img")
    assert charts.count() >= 5
    assert page.get_by_role("img", name="Requests per day").is_visible()
    assert _fits(page)
    screenshot(page, "keys-usage-phone")
    page.set_viewport_size(DESKTOP)
    screenshot(page, "keys-usage-desktop")
    assert page.js_errors == []


def test_the_chinese_key_pages_are_translated(page):
    user = UserFactory(username="mei")
    log_in(page, user.email, PASSWORD)
    page.goto(page.base + "/zh-hans/account/keys/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    main = page.locator("main").inner_text()
    assert "API 密钥" in main
    assert "创建密钥" in main
    assert "Create" not in main
    screenshot(page, "keys-zh-hans")
    page.get_by_role("link", name="创建你的第一个密钥").click()
    page.wait_for_url(re.compile(r"/zh-hans/account/keys/new/$"))
    form = page.locator("main").inner_text()
    assert "权限范围" in form
    assert "读取模型" in form
    page.get_by_label(re.compile("^名称")).fill("中文密钥")
    page.get_by_role("button", name="创建密钥").click()
    page.wait_for_url(re.compile(r"/zh-hans/account/keys/[0-9a-f-]+/secret/$"))
    assert "请立即复制你的密钥" in page.locator("main").inner_text()
    screenshot(page, "keys-reveal-zh-hans")
    assert APIKey.objects.filter(owner=user, name="中文密钥").exists()
    assert page.js_errors == []
