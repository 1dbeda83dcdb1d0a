from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApikeysConfig(AppConfig):
    name = "apps.apikeys"
    label = "apikeys"
    verbose_name = _("API keys")

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.core.checks import register
        from django.db.models.signals import post_delete, post_save

        from apps.core.hotcache import bump

        from . import schema  # noqa: F401  (registers the OpenAPI authentication extensions)
        from .api import api_versions_check
        from .models import APIKey, Plan

        # The request path keeps copies of keys with their plan and owner (services._KEYS).
        for model in (APIKey, Plan, get_user_model()):
            post_save.connect(bump, sender=model, dispatch_uid=f"hotcache-save-{model._meta.label}")
            post_delete.connect(bump, sender=model, dispatch_uid=f"hotcache-delete-{model._meta.label}")
        register(api_versions_check)
