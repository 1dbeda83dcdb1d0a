"""One rule for hostile input on every URL, and a 503 rather than a 500 while Redis is down.

``HostileInputMiddleware`` runs before anything reads the request. It refuses with a 400:

- a path holding an ASCII control character (NUL included) or bytes that are not UTF-8
  (``%ED%A0%80``, a lone surrogate, is not UTF-8);
- a query string, or a form body (URL-encoded or multipart fields), holding NUL or bytes
  that are not UTF-8;
- a body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (multipart file uploads aside).

JSON bodies are checked where they are parsed (``apps.core.parsers``: depth, NUL, lone
surrogates), and request serializers refuse unknown fields (``apps.core.serializers``).
A cookie holding a control character (an octal escape such as ``"\\000"`` decodes to NUL) is
dropped, as if it had not been sent: refusing every request of a browser holding one would
lock its owner out.

The answer is problem+json for API clients (paths under ``/api/``, or an ``Accept`` asking
for JSON and not HTML) and the portal's own error page, in the page's language, elsewhere.
``bad_request`` (``handler400``) answers the same way for Django's own 400s, such as a
disallowed host or too many form fields. While Redis or the broker cannot be reached, a
page view's error becomes a 503 page with ``Retry-After`` (API views get their 503 from
``apps.core.problems.exception_handler``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils import translation
from django.views import defaults

from .errors import InvalidInput, NotFound, ProblemError, RequestTooLarge
from .problems import UNAVAILABLE_ERRORS, problem_response, service_unavailable

logger = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Django re-percent-encodes path bytes that are not UTF-8 (WSGIRequest overwrites
# PATH_INFO with the result), so an escape of a byte past ASCII left in the decoded path
# came from such bytes, or from an address encoded twice: neither names a page.
_BROKEN_UTF8_ESCAPE = re.compile(r"%[89a-fA-F][0-9a-fA-F]")
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"


def _bytes_of(raw: str) -> bytes:
    # WSGI hands over the query string's bytes as latin-1 text; a character past latin-1
    # means the text was decoded already (a test client, an ASGI server).
    try:
        return raw.encode("latin-1")
    except UnicodeEncodeError:
        return raw.encode("utf-8", "surrogatepass")


def _utf8(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _form_problem(data: bytes, where: str) -> str | None:
    """Why URL-encoded ``data`` (a query string or form body) is refused, or None."""
    decoded = unquote_to_bytes(data.replace(b"+", b" "))
    if b"\x00" in decoded:
        return f"The {where} holds a NUL byte (%00)."
    if _utf8(decoded) is None:
        return f"The {where} is not valid UTF-8 (a lone surrogate such as %ED%A0%80 is not a character)."
    return None


def _path_problem(request: HttpRequest) -> str | None:
    path = request.path_info
    if _BROKEN_UTF8_ESCAPE.search(path) or _LONE_SURROGATE.search(path):
        return "The address is not valid UTF-8 (a lone surrogate such as %ED%A0%80 is not a character)."
    if _CONTROL.search(path):
        return "The address holds a control character (such as %00 or %0A)."
    return None


def _content_length(request: HttpRequest) -> int:
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def _body_problem(request: HttpRequest) -> ProblemError | None:
    length = _content_length(request)
    if not length:
        return None
    content_type = request.content_type or ""
    limit: int | None = settings.DATA_UPLOAD_MAX_MEMORY_SIZE  # None: no limit (Django allows it)
    if content_type != _MULTIPART and limit is not None and length > limit:
        return RequestTooLarge(f"The body has {length} bytes; the limit is {limit}.")
    try:
        problem = _form_body_problem(request, content_type)
    except SuspiciousOperation as exc:  # RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
        return RequestTooLarge(str(exc) or "The form is too large.")
    except MultiPartParserError as exc:
        return InvalidInput(f"The form could not be read: {exc}")
    return InvalidInput(problem) if problem else None


def _form_body_problem(request: HttpRequest, content_type: str) -> str | None:
    """What is wrong with a form body (URL-encoded, or multipart on POST), if anything."""
    if content_type == _FORM:
        return _form_problem(request.body, "form")
    if content_type == _MULTIPART and request.method == "POST":
        values = [value for _name, items in request.POST.lists() for value in items]
        names = [upload.name or "" for _name, items in request.FILES.lists() for upload in items]
        if any("\x00" in text for text in [*values, *names, *request.POST.keys()]):
            return "A form field holds a NUL byte."
    return None


def refusal(request: HttpRequest) -> ProblemError | None:
    """The 400 that ``request`` earns before any view sees it, or None to let it through."""
    if problem := _path_problem(request):
        return InvalidInput(problem)
    if problem := _form_problem(_bytes_of(request.META.get("QUERY_STRING", "")), "query string"):
        return InvalidInput(problem)
    return _body_problem(request)


def _drop_hostile_cookies(request: HttpRequest) -> None:
    hostile = [
        name
        for name, value in request.COOKIES.items()
        if _CONTROL.search(name + value) or _LONE_SURROGATE.search(name + value)
    ]
    for name in hostile:
        del request.COOKIES[name]


def wants_problem(request: HttpRequest) -> bool:
    """Whether an error for ``request`` is problem+json (an API client) or a page."""
    if request.path_info.startswith("/api/"):
        return True
    accept = request.META.get("HTTP_ACCEPT", "")
    return "json" in accept and "text/html" not in accept


def error_response(request: HttpRequest, exc: ProblemError, *, language: str | None = None) -> HttpResponse:
    """``exc`` as problem+json for API clients, else as the portal's 400 or 503 page.

    ``language`` renders the page in that language (for requests refused before
    ``LocaleMiddleware`` ran); by default the active one.
    """
    if wants_problem(request):
        return problem_response(exc)
    template = "503.html" if exc.status == 503 else "400.html"
    try:
        with translation.override(language or translation.get_language()):
            response = render(request, template, {"problem": exc}, status=exc.status)
    except UNAVAILABLE_ERRORS:
        # The layout itself needs the unreachable service (a cache-backed session, say).
        response = HttpResponse(exc.title, status=exc.status, content_type="text/plain; charset=utf-8")
    for name, value in exc.headers.items():
        response[name] = value
    return response


def _page_language(request: HttpRequest) -> str:
    # What LocaleMiddleware will choose: the path's prefix, else the default language
    # (English pages live at the root).
    return translation.get_language_from_path(request.path_info) or settings.LANGUAGE_CODE


class HostileInputMiddleware:
    """Refuses hostile requests with a 400 before any other code reads them, and turns an
    unreachable Redis or broker in a page view into a 503. Goes before SessionMiddleware
    (so hostile cookies are gone before the session is looked up)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        exc = refusal(request)
        if exc is not None:
            logger.info("refused %s %r: %s", request.method, request.META.get("PATH_INFO", "")[:200], exc.detail)
            return error_response(request, exc, language=_page_language(request))
        _drop_hostile_cookies(request)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, UNAVAILABLE_ERRORS):
            return error_response(request, service_unavailable(exception))
        return None


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler404``: an address that names nothing is a problem+json 404 for API clients
    (as a 404 inside an endpoint is), and the portal's 404 page for everyone else."""
    if wants_problem(request):
        return problem_response(NotFound("Nothing is here, or it is not yours."))
    return defaults.page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler400``: Django's own 400s (a disallowed host, a malformed form) in the same
    two shapes as the middleware's."""
    # Django's own message may name settings (ALLOWED_HOSTS): it goes to the log only.
    return error_response(request, InvalidInput("The request could not be read; check its address, headers and body."))
