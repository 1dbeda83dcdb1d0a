from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.request import Request

from apps.core.errors import ApiKeyInvalid
from apps.core.net import client_ip

from .services import apikey_authenticate


class APIKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer pk_...``; sets ``request.auth`` to the APIKey."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiKeyInvalid("Send the key as: Authorization: Bearer pk_...")
        key = apikey_authenticate(raw=token.strip(), ip=client_ip(request))
        return key.owner, key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class PlaygroundSessionAuthentication(SessionAuthentication):
    """The signed-in user of the site (the playground), with CSRF enforced."""
