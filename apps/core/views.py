from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.inference.selectors import inference_stats

from .health import readiness


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {})


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
