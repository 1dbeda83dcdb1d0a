"""allauth glue: default roles for new accounts, and login limits that an attacker cannot
turn against the account's owner.

allauth counts failed logins per address and per "key". Its key is the account alone, so
five wrong passwords from anywhere locked the owner out everywhere. Here the key is the
account *and* the address the attempt came from: an address that keeps guessing is
stopped (for that account, and for every account by the per-address limit), while the
owner's correct password from any other address still works. The client address is
``client_ip``, the one definition the API's limiter uses too (``NUM_PROXIES``).

Guessing one account from many addresses is slowed per account instead: past
``LOGIN_FAILURE_DELAY_FREE`` failures on an account in ``LOGIN_FAILURE_DELAY_WINDOW``
seconds, each further failed attempt on it answers ``LOGIN_FAILURE_DELAY_STEP`` seconds
later than the one before, up to ``LOGIN_FAILURE_DELAY_MAX``. Only failures wait: the
right password is never delayed and never refused for what others did.
"""

import hashlib
import time
from typing import Any
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from allauth.core.internal.ratelimit import truncate_ip
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMessage
from django.http import HttpRequest

from apps.core.net import client_ip
from apps.core.sites import site_base_url, site_name

from .models import User
from .services import user_assign_default_role


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request: HttpRequest, user: User, form: Any, commit: bool = True) -> User:
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            user_assign_default_role(user=user)
        return user

    def format_email_subject(self, subject: str) -> str:
        """``[Developer Portal] …``: the site's name, not the host the request came to."""
        return f"[{site_name()}] {subject}"

    def render_mail(
        self,
        template_prefix: str,
        email: str | list[str],
        context: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> EmailMessage:
        # allauth's emails greet and sign with ``current_site.name``; without
        # django.contrib.sites that is the raw host. Links stay on the request's host.
        context = {**context, "current_site": EmailSite(allauth_context.request)}
        return super().render_mail(template_prefix, email, context, headers=headers)

    def get_client_ip(self, request: HttpRequest) -> str:
        """The address every allauth limit counts (IPv6 is then cut to its /64 by allauth)."""
        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("Unable to determine client IP address")
        return ip

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        # allauth keys its per-account login limit (``/key`` rates of "login_failed"),
        # and the reset of that limit after a password reset, by this value. Adding the
        # address makes the limit per account and address. tests/accounts/
        # test_login_protection.py holds this against allauth upgrades.
        account = super()._get_login_attempts_cache_key(request, **credentials)
        return f"{account}:{truncate_ip(self.get_client_ip(request))}"

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        super().authentication_failed(request, **credentials)
        time.sleep(login_failure_delay(super()._get_login_attempts_cache_key(request, **credentials)))


class EmailSite:
    """What allauth's email templates read of a site: its name and its domain."""

    def __init__(self, request: HttpRequest | None) -> None:
        self.name = site_name()
        self.domain = request.get_host() if request is not None else urlsplit(site_base_url()).netloc

    def __str__(self) -> str:
        return self.domain


def login_failure_delay(account: str) -> float:
    """Count one more failed login on ``account`` (from any address); returns how long
    its answer should wait."""
    key = "login:failures:" + hashlib.sha256(account.encode()).hexdigest()
    window = settings.LOGIN_FAILURE_DELAY_WINDOW
    cache.add(key, 0, timeout=window)
    try:
        failures = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        failures = 1
    excess = max(failures - settings.LOGIN_FAILURE_DELAY_FREE, 0)
    return min(excess * settings.LOGIN_FAILURE_DELAY_STEP, settings.LOGIN_FAILURE_DELAY_MAX)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def save_user(self, request: HttpRequest, sociallogin: Any, form: Any = None) -> User:
        user: User = super().save_user(request, sociallogin, form)
        user_assign_default_role(user=user)
        return user
