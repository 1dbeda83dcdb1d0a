"""The one Markdown renderer of the portal: docs, tutorials, model cards and forum posts.

Python-Markdown with pymdown-extensions (fenced code with language tabs, tables,
admonitions, task lists, footnotes), Pygments highlighting and heading anchors. Whatever
the source, the HTML is sanitised with nh3: no script, no event handlers, no
``javascript:`` URLs. User content (``trusted=False``) also gets ``rel="nofollow ugc"`` on
links and prefixed ids, so a post cannot clobber the page's own element ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import markdown
import nh3
from markdown.extensions.toc import slugify_unicode

_EXTENSIONS = [
    "tables",
    "footnotes",
    "admonition",
    "toc",
    "pymdownx.superfences",
    "pymdownx.highlight",
    "pymdownx.inlinehilite",
    "pymdownx.tabbed",
    "pymdownx.tasklist",
    "pymdownx.details",
    "pymdownx.tilde",
    "pymdownx.magiclink",
]

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "input", "ins", "kbd", "label", "li", "mark",
    "ol", "p", "pre", "s", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "ul",
}  # fmt: skip
_ATTRIBUTES = {
    "*": {"class", "id", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height", "loading"},
    "input": {"type", "checked", "disabled", "name"},
    "label": {"for"},
    "ol": {"start"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "div": {"data-tabs"},
    "details": {"open"},
}
_URL_SCHEMES = {"http", "https", "mailto"}
USER_ID_PREFIX = "uc-"


@dataclass(frozen=True)
class Rendered:
    html: str
    toc: list[dict[str, Any]] = field(default_factory=list)

    @property
    def headings(self) -> list[str]:
        """Heading texts in order (for search weighting)."""
        found: list[str] = []

        def walk(tokens: list[dict[str, Any]]) -> None:
            for token in tokens:
                found.append(token["name"])
                walk(token.get("children", []))

        walk(self.toc)
        return found


def _converter(*, trusted: bool) -> markdown.Markdown:
    return markdown.Markdown(
        extensions=_EXTENSIONS,
        extension_configs={
            # Unicode slugs: a Chinese heading gets a readable anchor (#读懂响应), not "_1".
            "toc": {"permalink": trusted, "permalink_title": "", "toc_depth": "2-3", "slugify": slugify_unicode},
            "pymdownx.highlight": {"css_class": "highlight", "guess_lang": False, "pygments_lang_class": True},
            "pymdownx.tabbed": {"alternate_style": True},
            "pymdownx.tasklist": {"custom_checkbox": False},
            "pymdownx.magiclink": {"hide_protocol": False},
        },
        output_format="html",
    )


def sanitize(html: str, *, trusted: bool) -> str:
    return nh3.clean(
        html,
        tags=_TAGS,
        clean_content_tags={"script", "style", "iframe", "object", "embed", "template"},
        attributes=_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener" if trusted else "nofollow ugc noopener",
        id_prefix=None if trusted else USER_ID_PREFIX,
        strip_comments=True,
    )


def render_markdown(text: str, *, trusted: bool = False) -> Rendered:
    """Render Markdown to sanitised HTML and a table of contents.

    ``trusted`` is for the project's own content (docs, model cards): heading permalinks
    and unprefixed ids. Raw HTML in the source is sanitised either way.
    """
    converter = _converter(trusted=trusted)
    html = sanitize(converter.convert(text), trusted=trusted)
    if not trusted:
        # nh3 prefixes ids but not the labels that point at them (tabbed code blocks).
        html = re.sub(r'(<label\b[^>]*\sfor=")', rf"\1{USER_ID_PREFIX}", html)
    return Rendered(html=html, toc=list(getattr(converter, "toc_tokens", [])))
