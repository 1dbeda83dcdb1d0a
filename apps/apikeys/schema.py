"""How drf-spectacular describes our authentication in the OpenAPI document."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class APIKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apps.apikeys.auth.APIKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "pk_<8-char id>_<secret>",
            "description": "An API key from /account/keys/.",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "apps.apikeys.auth.PlaygroundSessionAuthentication"
    name = "session"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid", "description": "The site session (playground)."}
