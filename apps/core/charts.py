"""The pieces every SVG chart of the portal shares: the opening ``<svg>`` with its title and
description, stable element ids and round axis ceilings.

Charts are pure functions returning SVG text. Each one has ``role="img"``, a ``<title>``
and a ``<desc>`` that states the figures in words; colours come from ``currentColor`` and CSS
classes, never ``style`` attributes, so an inlined chart passes the strict
Content-Security-Policy and follows dark mode.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any
from xml.sax.saxutils import escape

FONT = 'font-family="system-ui, sans-serif"'


def svg_attr(value: str) -> str:
    """``value`` escaped for a double-quoted attribute."""
    return escape(value, {'"': "&quot;"})


def svg_id(kind: str, payload: Any) -> str:
    """An id prefix that is the same for the same chart, so that two charts on one page never
    share the ids their ``aria-labelledby`` points at."""
    digest = hashlib.sha1(json.dumps(payload, sort_keys=True, default=str).encode(), usedforsecurity=False)
    return f"{kind}-{digest.hexdigest()[:10]}"


def svg_open(ident: str, *, width: float, height: float, title: str, desc: str, css_class: str) -> list[str]:
    """The opening ``<svg>`` element, its ``<title>`` and its ``<desc>``; the caller appends
    the body and ``</svg>``."""
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-labelledby="{ident}-title {ident}-desc" class="{css_class}" {FONT} font-size="12" '
        'fill="currentColor">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(desc)}</desc>',
    ]


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least ``value``."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if value <= m * magnitude * (1 + 1e-9))
