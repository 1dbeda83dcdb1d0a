"""The bell: notifications, their settings, and one-click unsubscribe from emails."""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Field
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from .. import selectors, services
from ..forms import NotificationSettingsForm
from ..models import NotificationSettings
from ..services.notifications import unsubscribe_token_read
from .common import forum_render, login_required_response, viewer_of


@require_http_methods(["GET", "POST"])
def notification_list(request: HttpRequest) -> HttpResponse:
    viewer = viewer_of(request)
    if viewer.user is None:
        return login_required_response(request)
    if request.method == "POST":
        services.notifications_mark_all_read(user=viewer.user)
        messages.success(request, _("All notifications are marked as read."))
        return redirect("forum:notifications")
    page = Paginator(selectors.notification_list(viewer=viewer), 30).get_page(request.GET.get("page"))
    return forum_render(
        request, "forum/notifications.html", {"page": page, "notifications": page.object_list, "nav": "notifications"}
    )


@require_GET
def notification_open(request: HttpRequest, pk: UUID) -> HttpResponse:
    viewer = viewer_of(request)
    if viewer.user is None:
        return login_required_response(request)
    notification = selectors.notification_get(viewer=viewer, pk=pk)
    services.notification_mark_read(notification=notification, user=viewer.user)
    if notification.post is not None:
        return redirect("forum:post", pk=notification.post_id)
    if notification.thread is not None:
        return redirect(notification.thread.get_absolute_url())
    return redirect("forum:notifications")


@never_cache
@require_GET
def notification_count(request: HttpRequest) -> HttpResponse:
    viewer = viewer_of(request)
    return JsonResponse({"unread": viewer.unread_notifications if viewer.is_authenticated else 0})


@require_http_methods(["GET", "POST"])
def notification_settings(request: HttpRequest) -> HttpResponse:
    viewer = viewer_of(request)
    if viewer.user is None:
        return login_required_response(request)
    current = selectors.notification_settings_for(viewer=viewer)
    form = NotificationSettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        services.notification_settings_update(
            user=viewer.user, **{name: form.cleaned_data[name] for name in NotificationSettingsForm.Meta.fields}
        )
        messages.success(request, _("Your notification settings were saved."))
        return redirect("forum:notification_settings")
    return forum_render(
        request,
        "forum/notification_settings.html",
        {"form": form, "subscriptions": selectors.subscriptions_of(viewer=viewer)},
    )


@csrf_exempt  # the signed token is the credential; mail clients POST without a session (RFC 8058)
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks for confirmation (link scanners must not unsubscribe anyone); POST,
    from the page or a mail client's one-click button, turns the emails off."""
    found = unsubscribe_token_read(token)
    if found is None:
        return render(request, "forum/unsubscribe.html", {"invalid": True}, status=400)
    user, setting = found
    label = cast("Field[Any, Any]", NotificationSettings._meta.get_field(setting)).verbose_name
    if request.method == "POST":
        services.email_unsubscribe(token=token)
        return render(request, "forum/unsubscribe.html", {"done": True, "label": label, "member": user})
    return render(request, "forum/unsubscribe.html", {"label": label, "member": user, "token": token})
