"""Text for the search index: Chinese split into words by jieba, so that PostgreSQL's
parser (and the SQLite fallback) see words where Chinese writes none."""

from __future__ import annotations

import logging
import re
from functools import cache
from typing import Any

CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
WORD_RE = re.compile(r"\w+", re.U)


def has_cjk(text: str) -> bool:
    return bool(CJK_RE.search(text))


@cache
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def segment_for_index(text: str) -> str:
    """Words separated by single spaces; Chinese cut finely and coarsely (``cut_for_search``)
    so that both 身份验证 and 验证 find a page about 身份验证."""
    if not has_cjk(text):
        return text
    words = (w.strip() for w in _jieba().cut_for_search(text))
    return " ".join(w for w in words if w and WORD_RE.search(w))


def query_terms(query: str) -> list[str]:
    """The words of a search query, Chinese segmented, punctuation dropped, lowercased."""
    words = [w.strip() for w in _jieba().cut(query)] if has_cjk(query) else query.split()
    terms: list[str] = []
    for word in words:
        for part in WORD_RE.findall(word.lower()):
            if part not in terms:
                terms.append(part)
    return terms
