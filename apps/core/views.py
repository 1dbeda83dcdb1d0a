"""Pages of the site as a whole that need no feature app: security.txt and the policy."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

# RFC 9116 asks for an expiry less than a year ahead; computed per request, so it never lapses.
SECURITY_TXT_VALID_DAYS = 180


@require_GET
def security_txt(request: HttpRequest) -> HttpResponse:
    """/.well-known/security.txt (RFC 9116): where to report a vulnerability privately.

    Contact is `settings.SECURITY_CONTACTS` (a list of URIs) when set, else security@ at
    the host of SITE_URL. Expires is midnight UTC SECURITY_TXT_VALID_DAYS days from today;
    Policy is the repository's SECURITY.md, served by security_policy below.
    """
    from datetime import UTC, datetime, timedelta
    from urllib.parse import urlsplit

    from django.conf import settings

    site = settings.SITE_URL.rstrip("/")
    contacts = settings.SECURITY_CONTACTS or [f"mailto:security@{urlsplit(site).hostname}"]
    today = datetime.now(tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    expires = today + timedelta(days=SECURITY_TXT_VALID_DAYS)
    lines = [
        "# Report security vulnerabilities privately, never in the forum or a public issue.",
        *(f"Contact: {contact}" for contact in contacts),
        f"Expires: {expires:%Y-%m-%dT%H:%M:%SZ}",
        "Preferred-Languages: en, zh",
        f"Policy: {site}/security/policy.txt",
        f"Canonical: {site}/.well-known/security.txt",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


@require_GET
def security_policy(request: HttpRequest) -> HttpResponse:
    """The repository's SECURITY.md, as plain text (the web image ships the whole checkout)."""
    from pathlib import Path

    from django.conf import settings

    policy = Path(settings.BASE_DIR) / "SECURITY.md"
    return HttpResponse(policy.read_text(encoding="utf-8"), content_type="text/plain; charset=utf-8")
