"""Every syntax colour of highlighted code is readable: WCAG 2.x AA (4.5:1) on the background
it is painted on, in light and dark mode, at phone and desktop widths.

The stylesheets are the project's own served CSS (found through the static files finders),
read in the order pages load them: portal.css first, then the page stylesheets. A small
cascade resolves, for each Pygments token class inside each place code is shown (docs and
tutorial code blocks and tabs, forum posts, model cards, highlighted lines, inline code),
the winning ``color`` and the nearest painted background, with custom properties, alpha and
media queries resolved. A token class without a rule of its own inherits the block's text
colour, and is checked too.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from pygments.token import STANDARD_TYPES

from apps.core import pygments_style

AA_NORMAL_TEXT = 4.5
MODES = ("light", "dark")
VIEWPORT_WIDTHS = (360, 1280)

# Where highlighted code appears: the chain of elements around a token, outermost first,
# as the templates and the Markdown renderer produce it.
_CODE = "div.language-python.highlight pre code"
SURFACES = {
    "docs and tutorial code block": f"div.prose.docs-prose div.code-block {_CODE}",
    "docs code tab": (
        "div.prose.docs-prose div.tabbed-set.tabbed-alternate div.tabbed-content div.tabbed-block "
        f"div.code-block {_CODE}"
    ),
    "docs admonition": f"div.prose.docs-prose div.admonition.note div.code-block {_CODE}",
    "forum post": f"article.post div.prose.post-body {_CODE}",
    "forum flag quote": f"blockquote.flag-quote.prose {_CODE}",
    "forum review queue": f"div.prose.review-body {_CODE}",
    "model card": f"div.prose {_CODE}",
    "highlighted line": f"div.prose.docs-prose div.code-block {_CODE} span.hll",
    "inline code": "div.prose p code.language-python.highlight",
}
PAGE = "html body main.site-main"

TOKEN_CLASSES = sorted({name for name in STANDARD_TYPES.values() if name})


# --- CSS parsing -----------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    selectors: tuple[Selector, ...]
    declarations: tuple[tuple[str, str, bool], ...]  # (property, value, important)
    media: str | None
    order: int


def _scan(text: str, stop: str) -> list[tuple[str, str]]:
    """Split ``text`` at top-level characters in ``stop``: (separator before, piece) pairs."""
    pieces, depth, current, separator = [], 0, [], ""
    for char in text:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        if depth == 0 and char in stop:
            pieces.append((separator, "".join(current)))
            current, separator = [], char
        else:
            current.append(char)
    pieces.append((separator, "".join(current)))
    return pieces


def _split_top_level(text: str, separator: str) -> list[str]:
    return [piece.strip() for _, piece in _scan(text, separator) if piece.strip()]


def _matching_brace(css: str, start: int) -> int:
    depth = 0
    for index in range(start, len(css)):
        if css[index] == "{":
            depth += 1
        elif css[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    raise ValueError(f"unbalanced braces after {css[start : start + 60]!r}")


def parse_css(css: str, *, media: str | None = None, rules: list[Rule] | None = None) -> list[Rule]:
    rules = [] if rules is None else rules
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    position = 0
    while True:
        brace = css.find("{", position)
        if brace == -1:
            return rules
        prelude = css[position:brace]
        # Statements such as @import or @charset end with ";" before the next block.
        prelude = prelude.rsplit(";", 1)[-1].strip()
        end = _matching_brace(css, brace)
        body = css[brace + 1 : end]
        if prelude.startswith("@media"):
            query = prelude.removeprefix("@media").strip()
            parse_css(body, media=f"{media} and {query}" if media else query, rules=rules)
        elif prelude.startswith("@supports"):
            parse_css(body, media=media, rules=rules)
        elif not prelude.startswith("@"):  # @keyframes, @font-face: no element colours
            declarations = []
            for declaration in _split_top_level(body, ";"):
                name, _, value = declaration.partition(":")
                important = bool(re.search(r"!\s*important\s*$", value))
                value = re.sub(r"!\s*important\s*$", "", value).strip()
                declarations.append((name.strip().lower(), value, important))
            selectors = tuple(Selector.parse(text) for text in _split_top_level(prelude, ","))
            rules.append(Rule(selectors, tuple(declarations), media, len(rules)))
        position = end + 1


def media_applies(query: str | None, *, mode: str, width: int) -> bool:
    if query is None:
        return True
    for condition in query.split(" and "):
        part = condition.strip().lower()
        feature = re.fullmatch(r"\(\s*([\w-]+)\s*:\s*([\w.-]+)\s*\)", part)
        if part in ("screen", "all"):
            continue
        if part == "print" or feature is None:
            return False
        name, value = feature.groups()
        if name == "prefers-color-scheme":
            ok = value == mode
        elif name in ("min-width", "max-width"):
            pixels = float(value.removesuffix("px"))
            ok = width >= pixels if name == "min-width" else width <= pixels
        elif name == "prefers-reduced-motion":
            ok = value == "no-preference"
        elif name == "scripting":
            ok = value == "enabled"
        elif name in ("forced-colors", "prefers-contrast"):
            ok = value in ("none", "no-preference")
        else:
            raise ValueError(f"unknown media feature in {query!r}")
        if not ok:
            return False
    return True


# --- Selector matching -----------------------------------------------------------------


@dataclass(frozen=True)
class Element:
    tag: str
    classes: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, spec: str) -> Element:
        tag, *classes = spec.split(".")
        return cls(tag, frozenset(classes))


def _simple_selectors(compound: str) -> list[tuple[str, str, str]]:
    """(kind, name, argument) for each simple selector of a compound selector."""
    simples = []
    position = 0
    while position < len(compound):
        char = compound[position]
        found = re.compile(r"::?|[.#]|\[|\*|[a-zA-Z]").match(compound, position)
        if found is None:
            raise ValueError(f"cannot read selector {compound!r}")
        if char == "[":
            end = compound.index("]", position)
            simples.append(("attribute", compound[position + 1 : end].split("=", maxsplit=1)[0].strip("~|^$* "), ""))
            position = end + 1
            continue
        prefix = found.group(0) if not char.isalpha() and char != "*" else ""
        name_match = re.compile(r"\*|-?[\w-]+").match(compound, position + len(prefix))
        if name_match is None:
            raise ValueError(f"cannot read selector {compound!r}")
        name, position = name_match.group(0), name_match.end()
        argument = ""
        if position < len(compound) and compound[position] == "(":
            depth, end = 0, position
            for end in range(position, len(compound)):
                depth += {"(": 1, ")": -1}.get(compound[end], 0)
                if depth == 0:
                    break
            argument, position = compound[position + 1 : end], end + 1
        kind = {"": "tag", ".": "class", "#": "id", "::": "pseudo-element", ":": "pseudo-class"}[prefix]
        if kind == "pseudo-class" and name in ("before", "after", "first-line", "first-letter"):
            kind = "pseudo-element"
        simples.append((kind, name, argument))
    return simples


def _specificity(compound: str) -> tuple[int, int, int]:
    ids = classes = tags = 0
    for kind, name, argument in _simple_selectors(compound):
        if kind == "id":
            ids += 1
        elif kind in ("class", "attribute"):
            classes += 1
        elif (kind == "tag" and name != "*") or kind == "pseudo-element":
            tags += 1
        elif kind == "pseudo-class" and name in ("not", "is"):
            inner = [_specificity(part.strip()) for _, part in _scan(argument, ",")]
            best = max(inner)
            ids, classes, tags = ids + best[0], classes + best[1], tags + best[2]
        elif kind == "pseudo-class" and name != "where":
            classes += 1
    return (ids, classes, tags)


@functools.cache
def _compound_matches(compound: str, element: Element, is_root: bool) -> bool:
    for kind, name, argument in _simple_selectors(compound):
        if kind == "tag":
            ok = name in ("*", element.tag)
        elif kind == "class":
            ok = name in element.classes
        elif kind == "attribute":
            ok = name == "class" and bool(element.classes)  # no other attribute is modelled
        elif kind == "pseudo-class" and name in ("not", "is", "where"):
            inner = [_compound_matches(part.strip(), element, is_root) for _, part in _scan(argument, ",")]
            ok = not any(inner) if name == "not" else any(inner)
        elif kind == "pseudo-class" and name == "root":
            ok = is_root
        else:
            # An id, a pseudo-element (not the token's own text), or a state or structure that
            # is not modelled (:hover, :has(), :first-child): treated as not matching.
            ok = False
        if not ok:
            return False
    return True


@dataclass(frozen=True)
class Selector:
    text: str
    compounds: tuple[str, ...]
    combinators: tuple[str, ...]
    specificity: tuple[int, int, int]

    @classmethod
    def parse(cls, text: str) -> Selector:
        compounds: list[str] = []
        combinators: list[str] = []
        pending = None
        for separator, piece in _scan(text.strip(), " >+~"):
            if separator in (">", "+", "~"):
                pending = separator
            elif separator == " " and pending is None:
                pending = " "
            if piece.strip():
                if compounds:
                    combinators.append(pending or " ")
                compounds.append(piece.strip())
                pending = None
        total = [0, 0, 0]
        for compound in compounds:
            total = [a + b for a, b in zip(total, _specificity(compound), strict=True)]
        return cls(text, tuple(compounds), tuple(combinators), (total[0], total[1], total[2]))

    def matches(self, chain: tuple[Element, ...]) -> bool:
        if any(combinator in "+~" for combinator in self.combinators):
            return False  # the chains model ancestors only

        def match(index: int, depth: int) -> bool:
            if not _compound_matches(self.compounds[index], chain[depth], depth == 0):
                return False
            if index == 0:
                return True
            if self.combinators[index - 1] == ">":
                return depth > 0 and match(index - 1, depth - 1)
            return any(match(index - 1, ancestor) for ancestor in range(depth - 1, -1, -1))

        return match(len(self.compounds) - 1, len(chain) - 1)


# --- Colours ---------------------------------------------------------------------------

RGBA = tuple[float, float, float, float]
_NAMED = {"white": (255, 255, 255, 1.0), "black": (0, 0, 0, 1.0), "transparent": (0, 0, 0, 0.0)}


def parse_colour(value: str) -> RGBA | None:
    value = value.strip().lower()
    if value in _NAMED:
        return _NAMED[value]
    if value.startswith("#") and len(value) in (4, 5, 7, 9):
        digits = value[1:]
        if len(digits) in (3, 4):
            digits = "".join(char * 2 for char in digits)
        channels = [int(digits[i : i + 2], 16) for i in range(0, len(digits), 2)]
        alpha = channels[3] / 255 if len(channels) == 4 else 1.0
        return (channels[0], channels[1], channels[2], alpha)
    function = re.fullmatch(r"rgba?\((.*)\)", value)
    if function:
        numbers = re.split(r"[\s,/]+", function.group(1).strip())
        rgb = [float(n[:-1]) * 2.55 if n.endswith("%") else float(n) for n in numbers[:3]]
        alpha = 1.0
        if len(numbers) == 4:
            alpha = float(numbers[3][:-1]) / 100 if numbers[3].endswith("%") else float(numbers[3])
        return (rgb[0], rgb[1], rgb[2], alpha)
    return None


def over(top: RGBA, below: RGBA) -> RGBA:
    alpha = top[3]
    return (*(top[i] * alpha + below[i] * (1 - alpha) for i in range(3)), 1.0)  # type: ignore[return-value]


def relative_luminance(colour: RGBA) -> float:
    """WCAG 2.x relative luminance of an opaque sRGB colour."""
    linear = []
    for channel in colour[:3]:
        c = channel / 255
        linear.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first: RGBA, second: RGBA) -> float:
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


# --- The cascade -------------------------------------------------------------------------


@dataclass
class Computed:
    custom: dict[str, str] = field(default_factory=dict)
    color: RGBA = (0, 0, 0, 1.0)
    color_source: str = "the browser default"
    background: RGBA = (0, 0, 0, 0.0)
    background_source: str = ""


def _resolve_vars(value: str, custom: dict[str, str], depth: int = 0) -> str:
    if depth > 10:
        raise ValueError(f"custom property cycle in {value!r}")
    found = re.search(r"var\(\s*(--[\w-]+)\s*(?:,\s*([^()]*(?:\([^()]*\))?[^()]*))?\)", value)
    if found is None:
        return value
    name, fallback = found.groups()
    if name in custom:
        replacement = custom[name]
    elif fallback is not None:
        replacement = fallback
    else:
        raise ValueError(f"{name} is not defined where {value!r} is used")
    return _resolve_vars(value[: found.start()] + replacement + value[found.end() :], custom, depth + 1)


def _background_colour(value: str, *, current: RGBA) -> RGBA:
    if value in ("none", "initial", "unset"):
        return _NAMED["transparent"]
    if "gradient(" in value or "url(" in value:
        raise ValueError(f"a code background must be a plain colour, not {value!r}")
    colours = []
    for token in _split_top_level(value, " "):
        if token.lower() == "currentcolor":
            colours.append(current)
        elif (colour := parse_colour(token)) is not None:
            colours.append(colour)
    return colours[-1] if colours else _NAMED["transparent"]


class Cascade:
    """The stylesheet applied in one colour scheme at one viewport width."""

    def __init__(self, rules: list[Rule], *, mode: str, width: int) -> None:
        # Selectors indexed by a class or tag their subject must have, so that each element
        # is only tried against the selectors that could match it.
        self._index: dict[str, list[tuple[Selector, Rule]]] = {}
        for rule in rules:
            if not media_applies(rule.media, mode=mode, width=width):
                continue
            for selector in rule.selectors:
                subject = _simple_selectors(selector.compounds[-1]) if selector.compounds else []
                keys = [f".{name}" for kind, name, _ in subject if kind == "class"]
                keys += [name for kind, name, _ in subject if kind == "tag" and name != "*"]
                self._index.setdefault(keys[0] if keys else "*", []).append((selector, rule))
        self._computed: dict[tuple[Element, ...], Computed] = {}

    def _candidates(self, element: Element) -> list[tuple[Selector, Rule]]:
        keys = ["*", element.tag, *(f".{name}" for name in element.classes)]
        return [pair for key in keys for pair in self._index.get(key, [])]

    def computed(self, chain: tuple[Element, ...]) -> list[Computed]:
        """Computed colour, background and custom properties of each element of ``chain``."""
        return [self._element(chain[: depth + 1]) for depth in range(len(chain))]

    def _element(self, chain: tuple[Element, ...]) -> Computed:
        if chain in self._computed:
            return self._computed[chain]
        parent = self._element(chain[:-1]) if len(chain) > 1 else Computed()
        winners: dict[str, tuple[tuple[object, ...], str, str]] = {}
        for selector, rule in self._candidates(chain[-1]):
            if not selector.matches(chain):
                continue
            for name, value, important in rule.declarations:
                key = (important, selector.specificity, rule.order)
                if name not in winners or key >= winners[name][0]:
                    winners[name] = (key, value, selector.text)
        here = Computed(custom=dict(parent.custom), color=parent.color, color_source=parent.color_source)
        for name, (_, value, _) in winners.items():
            if name.startswith("--"):
                here.custom[name] = value
        if "color" in winners:
            _, value, selector_text = winners["color"]
            value = _resolve_vars(value, here.custom).strip()
            if value.lower() != "inherit":
                colour = parse_colour(value)
                if colour is None:
                    raise ValueError(f"cannot read colour {value!r} of {selector_text!r}")
                here.color, here.color_source = colour, selector_text
        background = [winners[name] for name in ("background", "background-color") if name in winners]
        if background:
            _, value, selector_text = max(background, key=lambda winner: winner[0])
            here.background = _background_colour(_resolve_vars(value, here.custom).strip(), current=here.color)
            here.background_source = selector_text
        self._computed[chain] = here
        return here


def painted_background(computed: list[Computed]) -> tuple[RGBA, str]:
    """The colour behind the innermost element: its ancestors' backgrounds, composited."""
    layers = []
    for element in reversed(computed):
        if element.background[3] > 0:
            layers.append(element)
            if element.background[3] >= 1:
                break
    else:
        raise ValueError("no opaque background anywhere up to the root")
    colour = layers[-1].background
    for layer in reversed(layers[:-1]):
        colour = over(layer.background, colour)
    return colour, layers[0].background_source


def served_stylesheets() -> list[Path]:
    """The project's own CSS files as the static files finders serve them, portal.css first."""
    found = []
    for finder in finders.get_finders():
        for path, storage in finder.list(ignore_patterns=[]):
            location = Path(storage.path(path))
            if path.endswith(".css") and location.is_relative_to(settings.BASE_DIR) and ".venv" not in location.parts:
                found.append(location)
    return sorted(found, key=lambda location: (location.name != "portal.css", str(location)))


def code_contrast_failures(css: str) -> list[str]:
    """One line per token class, surface, mode and width whose colour is below 4.5:1."""
    rules = parse_css(css)
    cascades = {(mode, width): Cascade(rules, mode=mode, width=width) for mode in MODES for width in VIEWPORT_WIDTHS}
    failures = []
    for surface, path in SURFACES.items():
        for token in TOKEN_CLASSES:
            chain = tuple(Element.parse(spec) for spec in f"{PAGE} {path} span.{token}".split())
            for (mode, width), cascade in cascades.items():
                computed = cascade.computed(chain)
                background, background_source = painted_background(computed)
                ratio = contrast_ratio(over(computed[-1].color, background), background)
                if ratio < AA_NORMAL_TEXT:
                    failures.append(
                        f"{surface}, {mode} mode, {width}px: .{token} from {computed[-1].color_source!r} "
                        f"on {background_source!r} is {ratio:.2f}:1"
                    )
    return failures


# --- Tests -------------------------------------------------------------------------------


def test_the_served_stylesheets_include_the_site_stylesheet_with_the_syntax_colours():
    names = [path.name for path in served_stylesheets()]
    assert names[0] == "portal.css"
    css = (Path(settings.BASE_DIR) / "static" / "css" / "portal.css").read_text(encoding="utf-8")
    assert ".highlight .nv {" in css and ".highlight .s2 {" in css


def test_every_syntax_colour_meets_wcag_aa_on_its_code_background_in_both_schemes():
    css = "\n".join(path.read_text(encoding="utf-8") for path in served_stylesheets())
    failures = code_contrast_failures(css)
    assert not failures, "\n".join(failures)


def test_the_shell_variables_and_strings_of_the_quickstart_are_readable():
    css = "\n".join(path.read_text(encoding="utf-8") for path in served_stylesheets())
    rules = parse_css(css)
    for token in ("nv", "s2", "s1"):
        path = SURFACES["docs and tutorial code block"]
        chain = tuple(Element.parse(spec) for spec in f"{PAGE} {path} span.{token}".split())
        for mode in MODES:
            computed = Cascade(rules, mode=mode, width=1280).computed(chain)
            background, _ = painted_background(computed)
            assert computed[-1].color_source == f".highlight .{token}"
            assert contrast_ratio(computed[-1].color, background) >= 7, (token, mode)


def test_a_light_theme_colour_on_the_dark_code_block_is_caught():
    css = (Path(settings.BASE_DIR) / "static" / "css" / "portal.css").read_text(encoding="utf-8")
    css += (
        "\n.highlight .nv { color: #19177C }\n@media (prefers-color-scheme: dark) { .highlight .s2 { color: #ba2121 } }"
    )
    failures = code_contrast_failures(css)
    assert any(line.startswith("docs and tutorial code block, light mode, 1280px: .nv ") for line in failures)
    assert any(".s2 from '.highlight .s2'" in line and "dark mode" in line for line in failures)
    assert not any(".s2 " in line and "light mode" in line for line in failures)


def test_the_syntax_colours_in_portal_css_are_generated_from_the_project_style():
    css = (Path(settings.BASE_DIR) / "static" / "css" / "portal.css").read_text(encoding="utf-8")
    start = css.index(pygments_style.BEGIN_MARKER)
    end = css.index(pygments_style.END_MARKER) + len(pygments_style.END_MARKER)
    assert css[start:end] == pygments_style.stylesheet_block(), (
        "portal.css is out of date: run .venv/bin/python -m apps.core.pygments_style --write"
    )


@pytest.mark.parametrize(
    ("foreground", "background", "expected"),
    [("#000000", "#ffffff", 21.0), ("#ffffff", "#ffffff", 1.0), ("#777777", "#ffffff", 4.48)],
)
def test_contrast_is_computed_as_wcag_defines_it(foreground, background, expected):
    ratio = contrast_ratio(parse_colour(foreground), parse_colour(background))  # type: ignore[arg-type]
    assert ratio == pytest.approx(expected, abs=0.01)
