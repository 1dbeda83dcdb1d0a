"""Turning a checked content file into the HTML the docs serve.

The Markdown itself goes through the portal's one renderer (``apps.core.markdown``); this
module only adds what docs pages need around it: resolved internal links, and each code
block wrapped in a header with its language, a copy button and, for API samples, a link
that opens the playground with the request's model and inputs.
"""

from __future__ import annotations

import html as htmllib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _

from apps.core.markdown import render_markdown

from .content import MARKER_RE, ContentError, SourceFile
from .samples import classify_request

# Bump when the output of this module changes, so the next sync re-renders every page.
RENDER_VERSION = "6"

CODE_RE = re.compile(
    r'<div class="(?:language-(?P<lang>[\w+.-]+) )?highlight"><pre>(?:<span></span>)?'
    r"<code>(?P<code>.*?)</code></pre></div>",
    re.S,
)
ATTR_RE = re.compile(r'(?P<attr>\b(?:href|src))="(?P<value>[^"]*)"')
HEADERLINK_RE = re.compile(r'<a class="headerlink"[^>]*>.*?</a>', re.S)
TAG_RE = re.compile(r"<[^>]+>")
SPACE_RE = re.compile(r"\s+")

# The address the Markdown's samples use for the portal, so that they run as written against
# a local portal; a served page shows the reader's own portal there instead.
DEFAULT_PORTAL_URL = "http://127.0.0.1:8000"
SITE_URL_LINE_RE = re.compile(r"^(?P<line>.*PORTAL_URL.*)$", re.M)
SITE_URL_RE = re.compile(r'<span data-site-url="">[^<]*</span>')

LANGUAGE_NAMES = {
    "sh": "Shell",
    "bash": "Shell",
    "console": "Shell",
    "python": "Python",
    "py": "Python",
    "json": "JSON",
    "http": "HTTP",
    "yaml": "YAML",
    "text": "",
    "javascript": "JavaScript",
    "js": "JavaScript",
}

COPY_ICON = (
    '<svg class="icon-sm icon-copy" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" focusable="false">'
    '<rect x="5.25" y="5.25" width="8" height="8.5" rx="1.5" fill="none" stroke="currentColor" stroke-width="1.4"/>'
    '<path d="M10.75 5.25V3.75a1.5 1.5 0 0 0-1.5-1.5h-5a1.5 1.5 0 0 0-1.5 1.5v6a1.5 1.5 0 0 0 1.5 1.5h1.5" '
    'fill="none" stroke="currentColor" stroke-width="1.4"/></svg>'
    '<svg class="icon-sm icon-done" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" focusable="false">'
    '<path d="M3.5 8.5l3 3 6-7" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" '
    'stroke-linejoin="round"/></svg>'
)


@dataclass(frozen=True)
class RenderedPage:
    html: str
    toc: list[dict[str, Any]]
    headings: list[str]
    plain_text: str
    anchors: set[str]


def strip_markers(body: str) -> str:
    """The body without sample markers (blank lines in their place, so lines still match)."""
    return "\n".join("" if MARKER_RE.match(line) else line for line in body.split("\n"))


# A soft line break inside a Chinese paragraph must not become a space: HTML renders a
# newline as one, and Chinese puts none between words or after full-width punctuation.
CJK_END_RE = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]$")
CJK_START_RE = re.compile(r"^[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
BLOCK_START_RE = re.compile(r"^\s*(?:[-*+] |\d+\. |#|\||!!!|===|```|~~~|<!--|\[\^)")


def join_cjk_lines(body: str) -> str:
    """Join lines of one paragraph where the break falls after Chinese text, so the
    rendered paragraph has no stray spaces. Code fences and lines that start a block are
    left alone. (Content errors report lines from the source scan, not from this text.)"""
    lines = body.split("\n")
    out: list[str] = []
    in_fence = False
    for line in lines:
        if FENCE_LINE_RE.match(line):
            in_fence = not in_fence
            out.append(line)
            continue
        previous = out[-1] if out else ""
        if (
            not in_fence
            and line.strip()
            and previous.strip()
            and not BLOCK_START_RE.match(line)
            and not FENCE_LINE_RE.match(previous)
            and CJK_END_RE.search(previous.rstrip())
            and (CJK_START_RE.search(line.strip()) or not line.strip()[0].isascii() or line.strip()[0] in "`*[(")
        ):
            out[-1] = previous.rstrip() + line.strip()
            continue
        out.append(line)
    return "\n".join(out)


FENCE_LINE_RE = re.compile(r"^\s*(?:`{3,}|~{3,})")


INLINE_TAG_RE = re.compile(r"</?(?:span|a|code|em|strong|b|i|kbd|mark|sup|sub|del|ins|abbr)\b[^>]*>")


def plain_text(html: str) -> str:
    text = HEADERLINK_RE.sub("", html)
    text = INLINE_TAG_RE.sub("", text)
    text = TAG_RE.sub(" ", text)
    return SPACE_RE.sub(" ", htmllib.unescape(text)).strip()


def mark_site_url(code_html: str) -> str:
    """Mark the default portal URL where a code block sets ``PORTAL_URL``."""

    def mark(match: re.Match[str]) -> str:
        return match.group("line").replace(DEFAULT_PORTAL_URL, f'<span data-site-url="">{DEFAULT_PORTAL_URL}</span>')

    return SITE_URL_LINE_RE.sub(mark, code_html)


def with_site_url(html: str, site_url: str) -> str:
    """A rendered page with ``site_url`` (scheme and host, no trailing slash) in the places
    ``mark_site_url`` marked."""
    marked = f'<span data-site-url="">{escape(site_url)}</span>'
    return SITE_URL_RE.sub(lambda _match: marked, html)


def playground_url(sample_code: str, lang: str) -> str | None:
    request = classify_request(sample_code, lang)
    if not request:
        return None
    try:
        base = reverse("playground:index")
    except NoReverseMatch:
        return None
    query = [("model", request["model"]), *(("input", text) for text in request["inputs"])]
    return f"{base}?{urlencode(query)}"


def _code_block(match: re.Match[str], *, number: int, source: SourceFile, prefix: str) -> str:
    sample = source.samples[number]
    lang = match.group("lang") or ""
    code_id = f"{prefix}{sample.id or number + 1}"
    label = LANGUAGE_NAMES.get(lang, lang.upper() if len(lang) <= 4 else lang.capitalize())
    # Outside the f-strings below: xgettext does not look inside them.
    open_label, copy_label, copied_label = _("Open in playground"), _("Copy"), _("Copied to clipboard")
    actions = []
    if sample.attrs.get("playground") == "1":
        url = playground_url(sample.code, sample.lang)
        if url is None:
            raise source.error(sample.line, "playground=1 needs a classify request with a model and inputs")
        actions.append(f'<a class="btn btn-link btn-sm code-action" href="{escape(url)}">{escape(open_label)}</a>')
    actions.append(
        f'<button type="button" class="copy-button" data-copy-target="{code_id}" '
        f'data-copy-announce="{escape(copied_label)}">{COPY_ICON}'
        f"<span data-copy-label>{escape(copy_label)}</span></button>"
    )
    lang_class = f"language-{lang} " if lang else ""
    sample_attr = f' data-sample="{escape(sample.id)}"' if sample.id else ""
    return (
        f'<div class="code-block"{sample_attr}><div class="code-block-header"><span>{escape(label)}</span>'
        f'<span class="code-actions">{"".join(actions)}</span></div>'
        f'<div class="{lang_class}highlight"><pre tabindex="0"><code id="{code_id}">'
        f"{mark_site_url(match.group('code'))}</code></pre></div></div>"
    )


def render_source(source: SourceFile, *, link_urls: dict[str, str]) -> RenderedPage:
    """Render ``source`` in its own language; ``link_urls`` maps each link target written in
    the file to the URL it resolves to."""
    with translation.override(source.language):
        body = strip_markers(source.body)
        if source.language.startswith("zh"):
            body = join_cjk_lines(body)
        rendered = render_markdown(body, trusted=True)
        html = rendered.html

        def relink(match: re.Match[str]) -> str:
            value = htmllib.unescape(match.group("value"))
            if value in link_urls:
                return f'{match.group("attr")}="{escape(link_urls[value])}"'
            return match.group(0)

        html = ATTR_RE.sub(relink, html)
        text = plain_text(html)
        blocks = list(CODE_RE.finditer(html))
        if len(blocks) != len(source.samples):
            line = source.samples[0].line if source.samples else source.body_line
            raise ContentError(
                source.display_path,
                line,
                f"found {len(source.samples)} fenced code blocks but {len(blocks)} rendered ones: "
                "use fenced blocks only (``` or ~~~), never indented code",
            )
        counter = iter(range(len(blocks)))
        html = CODE_RE.sub(lambda m: _code_block(m, number=next(counter), source=source, prefix="code-"), html)
    anchors = set(re.findall(r'\bid="([^"]+)"', html))
    return RenderedPage(html=html, toc=rendered.toc, headings=rendered.headings, plain_text=text, anchors=anchors)
