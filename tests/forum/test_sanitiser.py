"""Posts go through the portal's Markdown renderer and nh3: nothing executable survives,
whatever the input (an XSS corpus, then Markdown that hypothesis generates)."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.forum.rendering import render_post, snippet

ALLOWED_SCHEMES = {"", "http", "https", "mailto"}
FORBIDDEN_TAGS = {
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "form", "base", "meta",
    "link", "svg", "math", "template", "noscript", "textarea", "select", "button", "video", "audio", "source",
}  # fmt: skip
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "background", "poster", "srcset", "data"}


class Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"<{tag}>")
        names = {name for name, _ in attrs}
        for name, raw in attrs:
            value = raw or ""
            if name.startswith("on"):
                self.problems.append(f"event handler {name}")
            if name in ("style", "srcdoc", "formaction"):
                self.problems.append(f"attribute {name}")
            if name in URL_ATTRIBUTES:
                scheme = urlsplit(value.strip().replace("\x00", "")).scheme.lower()
                if scheme not in ALLOWED_SCHEMES:
                    self.problems.append(f"{name}={value!r}")
            if name == "id" and not value.startswith("uc-"):
                self.problems.append(f"unprefixed id {value!r}")
        if tag == "a" and "href" in names and "mention" not in (dict(attrs).get("class") or ""):
            rel = (dict(attrs).get("rel") or "").split()
            if not {"nofollow", "ugc"} <= set(rel):
                self.problems.append(f"link without rel=nofollow ugc: {attrs}")


def problems(html: str) -> list[str]:
    audit = Audit()
    audit.feed(html)
    audit.close()
    return audit.problems


XSS_CORPUS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<img src="javascript:alert(1)">',
    "<svg onload=alert(1)><circle/></svg>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="data:text/html,<script>alert(1)</script>"></object>',
    '<embed src="javascript:alert(1)">',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](javascript&#58;alert(1))",
    "[x]( javascript:alert(1) )",
    "[x](data:text/html,<script>alert(1)</script>)",
    "![x](javascript:alert(1))",
    '![x" onerror="alert(1)](https://example.com/a.png)',
    '[a](https://example.com "title" onmouseover="alert(1)")',
    "<javascript:alert(1)>",
    "<a href=x onclick=alert(1)>click</a>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<p style="color:red">styled</p>',
    "<style>body{display:none}</style>",
    "<link rel=stylesheet href=//evil.example/x.css>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="//evil.example/">',
    '<form action="//evil.example"><button formaction="javascript:alert(1)">go</button></form>',
    "<input onfocus=alert(1) autofocus>",
    "<details open ontoggle=alert(1)>x</details>",
    "<video><source onerror=alert(1)></video>",
    "<body onload=alert(1)>",
    '<div id="main">clobber the page\'s main</div>',
    '<a id="live-region" name="csrfmiddlewaretoken">x</a>',
    "<!-- <script>alert(1)</script> -->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<<script>alert(1)//<</script>",
    "<img src=`x`onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "```html\n<script>alert(1)</script>\n```",
    "`<script>alert(1)</script>`",
    "> <script>alert(1)</script>",
    "* [ ] <img src=x onerror=alert(1)>",
    "| a |\n|---|\n| <script>alert(1)</script> |",
    '!!! note "<img src=x onerror=alert(1)>"\n    body',
    '??? note "<script>alert(1)</script>"\n    hidden',
    '[^1]\n\n[^1]: <a href="javascript:alert(1)">fn</a>',
    "@<script>alert(1)</script>",
    "@dev<img src=x onerror=alert(1)>",
    '<a href="//evil.example">protocol-relative</a>',
    'https://evil.example/"onmouseover="alert(1)',
    "<sVg/oNloAd=alert(1)>",
    "<img src=x:alert(alt) onerror=eval(src) alt=0>",
    '<a href="#" onmouseover="alert(1)">hover</a>',
    '<table background="javascript:alert(1)"><tr><td>x</td></tr></table>',
]


@pytest.mark.embedded
@pytest.mark.parametrize("payload", XSS_CORPUS)
def test_the_xss_corpus_renders_to_nothing_executable(payload):
    html = render_post(payload, existing_usernames={"dev"}).html
    assert problems(html) == [], html
    assert "<script" not in html.lower()


def test_links_get_nofollow_ugc_and_mentions_link_inside_the_site():
    html = render_post("[docs](https://example.com) and @dev", existing_usernames={"dev"}).html
    assert 'rel="nofollow ugc noopener"' in html
    assert '<a class="mention" href="/forum/u/dev/">@dev</a>' in html


def test_code_is_highlighted():
    html = render_post("```python\nprint('hi')\n```").html
    assert 'class="language-python highlight"' in html and '<span class="nb">print</span>' in html


def test_offsite_images_become_links_because_the_csp_would_block_them():
    html = render_post("![diagram](https://example.com/d.png) ![local](/static/img/favicon.svg)").html
    assert '<a href="https://example.com/d.png" rel="nofollow ugc noopener" class="offsite-image">diagram</a>' in html
    assert '<img loading="lazy" alt="local" src="/static/img/favicon.svg">' in html


MARKDOWN_PIECES = st.sampled_from(
    [
        "# ", "## ", "> ", "- ", "1. ", "* [ ] ", "```", "`", "**", "_", "~~", "[", "](", ")", "![", "<", ">",
        "</", "=", "\"", "'", "javascript:", "data:", "vbscript:", "on", "onerror", "onload", "script", "img",
        "a", "href", "src", "style", "svg", "iframe", "&#", "&#x", ";", "|", "---", "!!! note", "???",
        "@dev", "@", "\n", "\n\n", " ", "\t", "x", "alert(1)", "http://", "//", "%0a", "\\",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(MARKDOWN_PIECES, st.text(max_size=8)), max_size=40).map("".join))
def test_generated_markdown_never_renders_anything_executable(source):
    html = render_post(source, existing_usernames={"dev"}).html
    assert problems(html) == [], (source, html)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.text(min_size=1, max_size=20))
def test_search_snippets_are_escaped_except_for_the_marks(text, query):
    html = snippet(text, query)
    stripped = html.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in stripped and ">" not in stripped
