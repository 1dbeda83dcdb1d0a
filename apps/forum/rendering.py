"""Forum text: Markdown through the portal's one renderer, plus what only posts need
(@mentions, off-site images, link counts, key redaction, snippets, language).

Everything here is pure (no queries) except ``render_post``, which looks the mentioned
usernames up once.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import re
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.text import slugify

from apps.apikeys.keyformat import find_keys
from apps.core.markdown import render_markdown

# Django usernames: letters, digits and @ . + - _; a trailing dot ends a sentence.
MENTION = re.compile(r"(?<![\w@/.+-])@([\w.+-]{1,150}\w|\w)", re.UNICODE)
_TAG_SPLIT = re.compile(r"(<[^>]*>)")
_OPEN_CLOSE = re.compile(r"<(/?)([a-zA-Z0-9]+)")
_SKIP_TAGS = {"a", "code", "pre"}
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_IMG = re.compile(r"<img\b[^>]*>")
_SRC = re.compile(r'\ssrc="([^"]*)"')
_ALT = re.compile(r'\salt="([^"]*)"')
_HREF = re.compile(r'<a\b[^>]*\shref="(https?:|//)', re.I)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class RenderedPost:
    html: str
    mentions: frozenset[str]
    link_count: int
    image_count: int


def mentioned_usernames(body: str) -> set[str]:
    """@names in the Markdown source, outside code blocks and inline code."""
    text = _INLINE_CODE.sub(" ", _FENCE.sub(" ", body))
    return {match.group(1) for match in MENTION.finditer(text)}


def _link_mentions(html: str, usernames: set[str]) -> str:
    """Turn @name into a link to the member's forum page, in text outside links and code.
    The sanitised HTML is split into tags and text; only text is touched, and only with
    names that matched ``MENTION`` (no characters that need escaping)."""
    if not usernames:
        return html
    lowered = {name.lower(): name for name in usernames}
    with translation.override(settings.LANGUAGE_CODE):
        urls = {key: reverse("forum:user", kwargs={"username": name}) for key, name in lowered.items()}
    out: list[str] = []
    skip_depth = 0
    for token in _TAG_SPLIT.split(html):
        if token.startswith("<"):
            match = _OPEN_CLOSE.match(token)
            if match and match.group(2).lower() in _SKIP_TAGS:
                skip_depth += -1 if match.group(1) else 1
                skip_depth = max(skip_depth, 0)
            out.append(token)
        elif skip_depth or "@" not in token:
            out.append(token)
        else:

            def replace(match: re.Match[str]) -> str:
                url = urls.get(match.group(1).lower())
                return f'<a class="mention" href="{url}">@{match.group(1)}</a>' if url else match.group(0)

            out.append(MENTION.sub(replace, token))
    return "".join(out)


def _offsite_images_to_links(html: str) -> str:
    """The Content-Security-Policy only loads images from this site; an off-site image
    becomes a plain link to it instead of a broken picture."""

    def replace(match: re.Match[str]) -> str:
        tag = match.group(0)
        src = _SRC.search(tag)
        url = src.group(1) if src else ""
        if url.startswith("/") and not url.startswith("//"):
            return tag if "loading=" in tag else tag.replace("<img", '<img loading="lazy"', 1)
        alt = _ALT.search(tag)
        label = alt.group(1) if alt and alt.group(1) else url
        if not url:
            return ""
        return f'<a href="{url}" rel="nofollow ugc noopener" class="offsite-image">{label}</a>'

    return _IMG.sub(replace, html)


def render_post(body: str, *, existing_usernames: set[str] | None = None) -> RenderedPost:
    """Render a post's Markdown with the portal's sanitiser and link its @mentions.

    ``existing_usernames``: the mentioned names that belong to active members (looked up
    by the caller); other @words stay text.
    """
    rendered = render_markdown(body, trusted=False).html
    image_count = len(_IMG.findall(rendered))
    link_count = len(_HREF.findall(rendered))
    html = _offsite_images_to_links(rendered)
    names = existing_usernames or set()
    html = _link_mentions(html, names)
    return RenderedPost(html=html, mentions=frozenset(names), link_count=link_count, image_count=image_count)


def redact_api_keys(text: str) -> tuple[str, list[str]]:
    """Replace every real-looking API key in ``text`` (valid checksum) by its public id
    and a redaction mark. Returns the new text and the ids of the keys found."""
    found = find_keys(text)
    ids: list[str] = []
    for key in found:
        text = text.replace(key.raw, f"pk_{key.key_id}_[REDACTED]")
        if key.key_id not in ids:
            ids.append(key.key_id)
    return text, ids


def body_fingerprint(body: str) -> str:
    """Equal for texts that differ only in case, spacing or Unicode form."""
    normal = _WS.sub(" ", unicodedata.normalize("NFKC", body).casefold()).strip()
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


def thread_slug(title: str) -> str:
    return slugify(title, allow_unicode=True)[:150].strip("-") or "thread"


def detect_language(text: str) -> str:
    """``zh-hans`` when Chinese characters are a fifth or more of the letters, else ``en``."""
    letters = _LETTER.findall(text)
    if not letters:
        return "en"
    return "zh-hans" if len(_CJK.findall(text)) * 5 >= len(letters) else "en"


def plain_text(html: str) -> str:
    """The text of sanitised post HTML, for snippets and feeds."""
    text = re.sub(r"<(pre|code)\b[^>]*>", " ", html)
    text = re.sub(r"<[^>]+>", " ", text)
    return _WS.sub(" ", html_lib.unescape(text)).strip()


def snippet(text: str, query: str, *, width: int = 160) -> str:
    """Escaped excerpt of ``text`` around the first match of ``query``, every match
    wrapped in <mark>. Safe HTML."""
    terms = [t for t in _WS.split(query.strip()) if t]
    lowered = text.casefold()
    start = 0
    for term in terms:
        index = lowered.find(term.casefold())
        if index >= 0:
            start = max(index - width // 3, 0)
            break
    excerpt = text[start : start + width]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + width < len(text) else ""
    if not terms:
        return f"{prefix}{html_lib.escape(excerpt)}{suffix}"
    # One pass over the raw text: escape what lies between matches, mark the matches.
    pattern = re.compile("|".join(re.escape(t) for t in sorted(set(terms), key=len, reverse=True)), re.IGNORECASE)
    out: list[str] = []
    last = 0
    for match in pattern.finditer(excerpt):
        out.append(html_lib.escape(excerpt[last : match.start()]))
        out.append(f"<mark>{html_lib.escape(match.group(0))}</mark>")
        last = match.end()
    out.append(html_lib.escape(excerpt[last:]))
    return f"{prefix}{''.join(out)}{suffix}"
