from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.request import Request

from apps.core.errors import ApiKeyInvalid

from .services import apikey_authenticate


def client_ip(request: Any) -> str | None:
    """The client's address. Behind NUM_PROXIES proxies it is that many entries from the
    end of X-Forwarded-For (each proxy appends the peer it saw); earlier entries are
    whatever the client chose to send, so they never count."""
    from django.conf import settings

    proxies = settings.NUM_PROXIES
    if proxies > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR") or None


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
