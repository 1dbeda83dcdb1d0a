from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.forum.selectors import home_announcements, home_threads
from apps.inference.selectors import inference_stats

from .health import readiness


def home(request: HttpRequest) -> HttpResponse:
    """Welcome page: what the portal offers, plus what is live now (published models,
    announcements and active threads), each as the viewer may see it."""
    from apps.mlmodels.selectors import model_list_visible

    context: dict[str, object] = {
        "models": [model for model, version in model_list_visible(viewer=request.user) if version.is_serving][:6],
        "threads": home_threads(viewer=request.user, limit=5),
        "announcements": home_announcements(viewer=request.user, limit=3),
    }
    return render(request, "home.html", context)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. Touches nothing else."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness: database, broker, cache and live inference workers, as JSON; 503 when not ready."""
    ready, checks = readiness()
    body: dict[str, object] = {"status": "ok" if ready else "unavailable", "checks": checks}
    if checks["database"]["ok"]:
        stats = inference_stats(minutes=5)
        body["inference"] = {k: v for k, v in stats.items() if k not in ("workers", "queue_depth")}
    return JsonResponse(body, status=200 if ready else 503)


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
