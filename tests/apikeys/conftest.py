from __future__ import annotations

from typing import Any

import pytest

from apps.apikeys.models import ALL_SCOPES
from apps.apikeys.services import apikey_create


class KeyClient:
    """Django's test client speaking to /api/v1/ with a bearer key."""

    def __init__(self, client: Any, raw: str | None) -> None:
        self.client = client
        self.raw = raw

    def _headers(self, extra: dict[str, str]) -> dict[str, str]:
        headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in extra.items()}
        if self.raw is not None:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {self.raw}"
        return headers

    def get(self, path: str, **headers: str) -> Any:
        return self.client.get(f"/api/v1/{path}", **self._headers(headers))

    def post(self, path: str, body: Any, **headers: str) -> Any:
        return self.client.post(f"/api/v1/{path}", body, content_type="application/json", **self._headers(headers))


def make_key(owner: Any, scopes: list[str] | None = None, **options: Any) -> tuple[Any, str]:
    return apikey_create(owner=owner, name="test key", scopes=scopes or ALL_SCOPES, **options)


@pytest.fixture
def owner_key(owner: Any) -> tuple[Any, str]:
    return make_key(owner)


@pytest.fixture
def api(client: Any, owner_key: tuple[Any, str]) -> KeyClient:
    return KeyClient(client, owner_key[1])
