"""The API key format: ``pk_<8-char id>_<secret><checksum>``.

- id: 8 characters of [0-9A-Za-z], public, used to look the key up;
- secret: 32 characters of [0-9A-Za-z] from ``secrets`` (about 190 bits);
- checksum: 6 characters of [0-9A-Za-z], CRC-32 of everything before it, so a scanner
  (the forum's leak guard, a secret scanner) can tell a real key from a look-alike
  offline, and a typo is rejected before any database query.
Only a hash of the whole key is ever stored.
"""

from __future__ import annotations

import re
import secrets
import string
import zlib
from dataclasses import dataclass

ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
PREFIX = "pk_"
ID_LENGTH = 8
SECRET_LENGTH = 32
CHECKSUM_LENGTH = 6
KEY_PATTERN = re.compile(
    rf"\bpk_([0-9A-Za-z]{{{ID_LENGTH}}})_([0-9A-Za-z]{{{SECRET_LENGTH}}})([0-9A-Za-z]{{{CHECKSUM_LENGTH}}})\b"
)


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, remainder = divmod(number, 62)
        digits.append(ALPHABET[remainder])
    return "".join(reversed(digits))


def checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def _random(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


@dataclass(frozen=True)
class ParsedKey:
    key_id: str
    raw: str


def generate(key_id: str | None = None) -> ParsedKey:
    """A new key (``key_id`` random unless given)."""
    key_id = key_id or _random(ID_LENGTH)
    body = f"{PREFIX}{key_id}_{_random(SECRET_LENGTH)}"
    return ParsedKey(key_id=key_id, raw=body + checksum(body))


def parse(raw: str) -> ParsedKey | None:
    """The key's id if ``raw`` is well formed with a valid checksum, else None (no I/O)."""
    match = KEY_PATTERN.fullmatch(raw.strip())
    if not match:
        return None
    body = raw.strip()[:-CHECKSUM_LENGTH]
    if not secrets.compare_digest(checksum(body), match.group(3)):
        return None
    return ParsedKey(key_id=match.group(1), raw=raw.strip())


def find_keys(text: str) -> list[ParsedKey]:
    """Every real-looking key (valid checksum) in ``text``, for leak scanning."""
    found = []
    for match in KEY_PATTERN.finditer(text):
        parsed = parse(match.group(0))
        if parsed:
            found.append(parsed)
    return found
