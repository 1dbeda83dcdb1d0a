"""The API-key pages of the signed-in developer: list, create, reveal once, rotate,
revoke, usage, and asking for a higher plan. Another user's key is a 404.

A new key's plaintext never goes into a URL, a log or the database. The view that made
it redirects to the key's "secret" page (so a reload cannot make a second key) and hands
the key over in two halves, each worthless alone: a random one-time pad in the session
and the key XOR the pad in a short-lived HttpOnly cookie. The next GET of the secret page
joins them and drops both, so a reload shows nothing; a session row read from the
database, even with the secret key, holds only noise. That page is served with
``Cache-Control: no-store``.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from apps.core.net import client_ip
from apps.mlmodels.selectors import model_list_public

from . import charts, keyformat
from .forms import KeyCreateForm, KeyRequestForm, KeyRotateForm
from .models import APIKey, KeyStatus, RequestStatus
from .selectors import (
    RevealLinkExpired,
    apikey_get_by_reveal_token,
    apikey_get_owned,
    apikey_list_owned,
    apikey_usage,
    key_request_decided_since,
    key_request_list,
    plan_choices_for_request,
    plan_list,
)
from .services import apikey_create, apikey_reveal, apikey_revoke, apikey_rotate, key_request_create

SECRET_SESSION_KEY = "apikeys:new-secret"  # noqa: S105 (the name of a session entry)
SECRET_COOKIE = "apikeys_new_secret"  # noqa: S105 (the name of a cookie)
NOTICES_SESSION_KEY = "apikeys:notices-seen-until"
# The redirect to the secret page follows at once; a stash older than this was never shown
# (a closed tab) and is refused, and the browser drops its half by then.
SECRET_TTL = timedelta(minutes=10)
NOTICE_WINDOW = timedelta(days=14)


def _xor(data: bytes, pad: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, pad, strict=True))


def _stash_secret(request: HttpRequest, key: APIKey, raw: str) -> HttpResponse:
    pad = secrets.token_bytes(len(raw))
    request.session[SECRET_SESSION_KEY] = {
        "key": str(key.pk),
        "pad": base64.urlsafe_b64encode(pad).decode(),
        "until": (timezone.now() + SECRET_TTL).isoformat(),
    }
    response = redirect("apikeys:key_secret", pk=key.pk)
    response.set_cookie(
        SECRET_COOKIE,
        base64.urlsafe_b64encode(_xor(raw.encode(), pad)).decode(),
        max_age=int(SECRET_TTL.total_seconds()),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Strict",
    )
    return response


def _drop_secret(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Remove both halves of a stashed key, whether or not it was shown."""
    request.session.pop(SECRET_SESSION_KEY, None)
    if request.COOKIES.get(SECRET_COOKIE):
        response.delete_cookie(SECRET_COOKIE, samesite="Strict")
    return response


def _read_secret(request: HttpRequest, key: APIKey) -> str | None:
    """The new key's plaintext if both halves are here, fresh and for ``key``."""
    stash = request.session.get(SECRET_SESSION_KEY)
    sealed = request.COOKIES.get(SECRET_COOKIE, "")
    if not isinstance(stash, dict) or stash.get("key") != str(key.pk) or not sealed:
        return None
    if datetime.fromisoformat(stash.get("until", "2000-01-01T00:00:00+00:00")) < timezone.now():
        request.session.pop(SECRET_SESSION_KEY)
        return None
    try:
        raw = _xor(base64.urlsafe_b64decode(sealed), base64.urlsafe_b64decode(stash.get("pad", ""))).decode()
    except (binascii.Error, ValueError):  # a cookie from another stash, or tampered with
        return None
    parsed = keyformat.parse(raw)
    return raw if parsed is not None and parsed.key_id == key.key_id else None


def _model_choices() -> list[tuple[str, str]]:
    return [(model.slug, f"{model.name} ({model.slug})") for model in model_list_public()]


def _flash_notices(request: HttpRequest) -> None:
    """Tell the developer, once, about decisions on their plan requests made since they
    last looked (the in-site counterpart of the decision email)."""
    seen = request.session.get(NOTICES_SESSION_KEY)
    since = timezone.now() - NOTICE_WINDOW
    if seen:
        since = max(since, datetime.fromisoformat(seen))
    decided = key_request_decided_since(viewer=request.user, since=since)
    for item in decided:
        values = {"plan": item.plan.name}
        if item.status == RequestStatus.APPROVED:
            text = _("Your request for the %(plan)s plan was approved; your active keys now use it.") % values
            messages.success(request, text)
        else:
            messages.warning(request, _("Your request for the %(plan)s plan was denied.") % values)
    if decided:
        latest = max(item.decided_at or since for item in decided)
        request.session[NOTICES_SESSION_KEY] = latest.isoformat()
    elif not seen:
        request.session[NOTICES_SESSION_KEY] = since.isoformat()


@login_required
@require_GET
def key_list(request: HttpRequest) -> HttpResponse:
    _flash_notices(request)
    keys = list(apikey_list_owned(viewer=request.user))
    requests = key_request_list(viewer=request.user)
    response = render(
        request,
        "apikeys/key_list.html",
        {
            "keys": keys,
            "awaiting": [key for key in keys if key.awaiting_reveal and key.status == KeyStatus.ACTIVE],
            "key_requests": requests,
            "pending_request": next((r for r in requests if r.status == RequestStatus.PENDING), None),
        },
    )
    # A new key is shown on its own page only; one never shown there is dropped here.
    return _drop_secret(request, response)


@login_required
@require_http_methods(["GET", "POST"])
def key_create(request: HttpRequest) -> HttpResponse:
    form = KeyCreateForm(request.POST or None, model_choices=_model_choices())
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            key, raw = apikey_create(
                owner=request.user,
                name=data["name"],
                scopes=data["scopes"],
                expires_at=timezone.now() + timedelta(days=data["expires_in_days"]),
                allowed_models=data["allowed_models"],
                actor=request.user,
                ip=client_ip(request),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return _stash_secret(request, key, raw)
    return render(request, "apikeys/key_create.html", {"form": form})


@login_required
@require_GET
def key_secret(request: HttpRequest, pk: Any) -> HttpResponse:
    key = apikey_get_owned(viewer=request.user, pk=pk)
    raw = _read_secret(request, key)
    response = render(request, "apikeys/key_secret.html", {"key": key, "raw": raw})
    add_never_cache_headers(response)
    patch_cache_control(response, no_store=True, private=True)
    if raw is not None:
        _drop_secret(request, response)
    return response


@login_required
@require_http_methods(["GET", "POST"])
def key_revoke(request: HttpRequest, pk: Any) -> HttpResponse:
    key = apikey_get_owned(viewer=request.user, pk=pk)
    if request.method == "POST":
        if key.revoked_at is None:
            apikey_revoke(key=key, actor=request.user, reason="revoked by its owner", ip=client_ip(request))
            text = _("The key %(prefix)s… was revoked. It stops working at once.") % {"prefix": key.prefix}
            messages.success(request, text)
        return redirect("apikeys:key_list")
    return render(request, "apikeys/key_revoke.html", {"key": key})


@login_required
@require_http_methods(["GET", "POST"])
def key_rotate(request: HttpRequest, pk: Any) -> HttpResponse:
    key = apikey_get_owned(viewer=request.user, pk=pk)
    form = KeyRotateForm(request.POST or None)
    rotatable = key.status == KeyStatus.ACTIVE and not key.awaiting_reveal and key.replaced_by_id is None
    if rotatable and request.method == "POST" and form.is_valid():
        try:
            new, raw = apikey_rotate(key=key, actor=request.user, grace=form.grace_period, ip=client_ip(request))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return _stash_secret(request, new, raw)
    return render(request, "apikeys/key_rotate.html", {"key": key, "form": form, "rotatable": rotatable})


@login_required
@require_http_methods(["GET", "POST"])
def key_reveal(request: HttpRequest, pk: Any) -> HttpResponse:
    """Show an admin-issued key once: GET asks, POST makes and shows the secret (a GET
    must not use up the reveal: mail scanners and previews follow links)."""
    key = apikey_get_owned(viewer=request.user, pk=pk)
    return _reveal(request, key)


@login_required
@require_http_methods(["GET", "POST"])
def key_reveal_link(request: HttpRequest, token: str) -> HttpResponse:
    """The one-time link from the email; works for the owner, signed in, for 7 days."""
    try:
        key = apikey_get_by_reveal_token(viewer=request.user, token=token)
    except RevealLinkExpired:
        return render(request, "apikeys/key_reveal_expired.html", status=410)
    return _reveal(request, key)


def _reveal(request: HttpRequest, key: APIKey) -> HttpResponse:
    if request.method == "POST" and key.awaiting_reveal and key.status == KeyStatus.ACTIVE:
        try:
            raw = apikey_reveal(key=key, viewer=request.user, ip=client_ip(request))
        except ValidationError:
            pass  # revealed a moment ago in another tab: fall through to "already shown"
        else:
            return _stash_secret(request, key, raw)
        key.refresh_from_db()
    return render(request, "apikeys/key_reveal.html", {"key": key})


@login_required
@require_GET
def key_usage(request: HttpRequest, pk: Any) -> HttpResponse:
    key = apikey_get_owned(viewer=request.user, pk=pk)
    usage = apikey_usage(viewer=request.user, key=key)
    return render(request, "apikeys/key_usage.html", {"key": key, "usage": usage, "charts": charts.usage_charts(usage)})


@login_required
@require_http_methods(["GET", "POST"])
def key_request(request: HttpRequest) -> HttpResponse:
    """Ask for a higher plan; an administrator decides and the developer is told."""
    plans = plan_choices_for_request(viewer=request.user)
    requests = key_request_list(viewer=request.user)
    pending = next((r for r in requests if r.status == RequestStatus.PENDING), None)
    form = KeyRequestForm(request.POST or None, plans=plans)
    if request.method == "POST" and pending is None and form.is_valid():
        try:
            key_request_create(user=request.user, plan=form.cleaned_data["plan"], reason=form.cleaned_data["reason"])
        except ValidationError:
            form.add_error(None, _("You already have a request waiting for a decision."))
        else:
            messages.success(request, _("Thank you. An administrator will decide soon; we will email you."))
            return redirect("apikeys:key_list")
    context = {"form": form, "pending": pending, "plans": plan_list(), "can_request": plans.exists()}
    return render(request, "apikeys/key_request.html", context)
