import re

import pytest
from django.urls import reverse

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

HAN = re.compile(r"[\u4e00-\u9fff]")


def _visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_english_is_served_at_the_root_and_chinese_under_its_prefix(client):
    english = client.get("/")
    chinese = client.get("/zh-hans/")
    assert english.status_code == chinese.status_code == 200
    assert '<html lang="en"' in english.content.decode()
    assert '<html lang="zh-hans"' in chinese.content.decode()


def test_the_chinese_page_really_is_in_chinese(client):
    text = _visible_text(client.get("/zh-hans/").content.decode())
    assert "文档" in text  # "Docs" in the navigation
    assert "论坛" in text  # "Forum"
    han = len(HAN.findall(text))
    latin_words = len(re.findall(r"\b[A-Za-z]{4,}\b", text))
    assert han > latin_words, (han, latin_words)


def test_the_language_switcher_moves_to_the_same_page_in_the_other_language(client):
    # The switcher posts to the set-language URL of the page's own language.
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/accounts/login/"})
    assert response.status_code == 302
    assert response["Location"] == "/zh-hans/accounts/login/"
    page = client.get(response["Location"])
    assert "登录" in page.content.decode()

    response = client.post("/zh-hans/i18n/setlang/", {"language": "en", "next": "/zh-hans/accounts/login/"})
    assert response["Location"] == "/accounts/login/"


def test_every_page_offers_the_language_switcher(client):
    html = client.get("/").content.decode()
    assert f'action="{reverse("set_language")}"' in html
    assert "简体中文" in html
