"""What every forum view shares: the viewer of the request, the page frame, errors."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from ..errors import ForumError, PostingLimited
from ..permissions import ForumViewer, can_moderate
from ..selectors import forum_viewer, review_queue_count
from ..services.common import sanction_message


def viewer_of(request: HttpRequest) -> ForumViewer:
    """The request's ``ForumViewer``, loaded once per request."""
    viewer = getattr(request, "_forum_viewer", None)
    if viewer is None:
        viewer = forum_viewer(request.user)
        request._forum_viewer = viewer  # type: ignore[attr-defined]
    return viewer


def forum_render(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    viewer = viewer_of(request)
    sanction = viewer.suspension or viewer.silence
    base = {
        "viewer": viewer,
        "sanction_notice": sanction_message(sanction) if sanction else "",
        "review_count": review_queue_count(viewer=viewer) if can_moderate(viewer) else 0,
    }
    return render(request, template, {**base, **context}, status=status)


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def back(request: HttpRequest, fallback: str) -> HttpResponse:
    """Redirect to ``next`` (or the referring page) when it is on this site, else ``fallback``."""
    target = request.POST.get("next") or request.GET.get("next") or request.headers.get("Referer", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(fallback)


def login_required_response(request: HttpRequest) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"error": "login required"}, status=401)
    return redirect_to_login(request.get_full_path())


def action_failed(request: HttpRequest, exc: Exception, fallback: str) -> HttpResponse:
    """Report a refused action: JSON for scripts, a message and a redirect for pages."""
    message = getattr(exc, "message", None) or (str(exc) if isinstance(exc, PermissionDenied) else "")
    status = 429 if isinstance(exc, PostingLimited) else 403 if isinstance(exc, PermissionDenied) else 400
    if wants_json(request):
        return JsonResponse({"error": message}, status=status)
    messages.error(request, message)
    return back(request, fallback)


ACTION_ERRORS = (ForumError, PermissionDenied)
