"""The site's base URL for absolute links that leave the page: emails, mostly.

Inside a request it is the request's own scheme and host (checked against
``ALLOWED_HOSTS``), so a link works from wherever the reader reached the portal. Outside
one (a Celery task, a management command) it is ``SITE_URL``, unless the code that queued
the work captured the request's base URL and passed it along, as the forum's email task
does.

``request_started`` records the request's environ in a context variable (connected in
``apps.py``), so services need no request argument to build a link.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest
from django.utils.translation import gettext

# The current request's WSGI environ or ASGI scope; its base URL is worked out only when a
# link is built (most requests build none, and this runs on every one).
_request_source: ContextVar[tuple[str, Any] | None] = ContextVar("request_source", default=None)


def request_base_url(request: HttpRequest) -> str:
    """``https://host:port`` of ``request``, without a trailing slash."""
    return f"{request.scheme}://{request.get_host()}"


def site_base_url(base_url: str | None = None) -> str:
    """``base_url`` if given, else the current request's base URL, else ``SITE_URL``;
    never with a trailing slash."""
    chosen = base_url or _current_request_base_url() or settings.SITE_URL
    return chosen.rstrip("/")


def _current_request_base_url() -> str | None:
    from django.core.handlers.asgi import ASGIRequest
    from django.core.handlers.wsgi import WSGIRequest

    source = _request_source.get()
    if source is None:
        return None
    kind, value = source
    try:
        request = WSGIRequest(value) if kind == "wsgi" else ASGIRequest(value, io.BytesIO())
        return request_base_url(request)
    except DisallowedHost:  # the request itself is answered 400
        return None


def site_absolute(path: str, *, base_url: str | None = None) -> str:
    """The absolute URL of the site path ``path`` (which starts with ``/``)."""
    return site_base_url(base_url) + path


def site_name() -> str:
    """The name emails call the site by, in the active language."""
    return gettext("Developer Portal")


def request_started(sender: Any, environ: Any = None, scope: Any = None, **kwargs: Any) -> None:
    if environ is not None:
        _request_source.set(("wsgi", environ))
    elif scope is not None and scope.get("type") == "http":
        _request_source.set(("asgi", scope))
    else:
        _request_source.set(None)


def request_finished(sender: Any, **kwargs: Any) -> None:
    _request_source.set(None)
