"""Views that draw on several apps at once: the home page and the readiness probe.

They live in the project, not in ``apps.core``, so that core depends on no feature app.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.forum.selectors import home_announcements, home_threads
from apps.inference.selectors import inference_stats
from apps.mlmodels.selectors import model_list_visible

from .health import readiness


def home(request: HttpRequest) -> HttpResponse:
    """Welcome page: what the portal offers, plus what is live now (published models,
    announcements and active threads), each as the viewer may see it."""
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
