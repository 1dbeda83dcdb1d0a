"""The API's JSON parser: DRF's, plus the limits that keep hostile bodies out.

A body nested deeper than ``MAX_JSON_DEPTH`` is refused before it is parsed (Python's
parser recurses, and 50,000 nested arrays end in ``RecursionError``); a string holding
NUL (``\\u0000``) or a lone surrogate (``\\ud800``) is refused after, since neither can be
stored in PostgreSQL nor encoded as UTF-8. All three are 400s with a detail that says
which rule was broken.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from itertools import accumulate
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding  # type: ignore[attr-defined]  # not in the stubs
from rest_framework.utils import json

from .errors import InvalidInput

MAX_JSON_DEPTH = 64

# A JSON string (escapes included), so that brackets inside strings are not counted.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_BRACKETS = re.compile(r"[\[\]{}]")
_BAD_CHARACTER = re.compile(r"[\x00\ud800-\udfff]")


def json_depth(text: str) -> int:
    """How deeply the arrays and objects of ``text`` nest (0 for a scalar), without parsing.

    Runs at regex speed whatever the nesting; for malformed input the figure is only an
    estimate, and the parser then reports the real error.
    """
    brackets = _BRACKETS.findall(_STRING.sub("", text))
    return max(accumulate(1 if b in "[{" else -1 for b in brackets), default=0)


def _strings(value: Any) -> Iterator[str]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored or encoded (NUL, lone surrogate), or None when it can."""
    match = _BAD_CHARACTER.search(text)
    if match is None:
        return None
    if match.group() == "\x00":
        return "Text may not contain NUL characters (\\u0000)."
    return "Text must be valid Unicode: a lone surrogate (\\ud800-\\udfff) is not a character."


class PortalJSONParser(JSONParser):
    """DRF's ``JSONParser`` with a depth limit and no NUL or lone surrogate in any string.

    Raises ``ParseError`` (400 ``invalid_json``) for a body that is not UTF-8 (or its
    declared charset), not JSON, or nested deeper than ``MAX_JSON_DEPTH``; and
    ``InvalidInput`` (400 ``invalid_input``) for a forbidden character in a key or value.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        encoding = get_encoding(parser_context or {})
        try:
            text = stream.read().decode(encoding)
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON parse error - the body is not valid {encoding}: {exc.reason}.") from None
        # Both scans below are skipped, at C speed, for the bodies that cannot need them.
        brackets = text.count("[") + text.count("{")
        if brackets > MAX_JSON_DEPTH and json_depth(text) > MAX_JSON_DEPTH:
            raise ParseError(f"JSON parse error - the body nests deeper than {MAX_JSON_DEPTH} levels.")
        try:
            data = json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        # Decoded text holds no surrogate, and strict JSON no raw NUL: only a \u escape
        # can put either into a string.
        if "\\u" in text:
            for value in _strings(data):
                if problem := text_problem(value):
                    raise InvalidInput(problem)
        return data
