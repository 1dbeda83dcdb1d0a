from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    """Settings that every template may show."""
    return {
        "SITE_URL": settings.SITE_URL,
        "GITHUB_LOGIN_ENABLED": settings.GITHUB_LOGIN_ENABLED,
    }
