from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from django.core.signals import request_finished, request_started

        from . import hotcache, sites

        request_started.connect(hotcache.request_started, dispatch_uid="hotcache-request-started")
        request_finished.connect(hotcache.request_finished, dispatch_uid="hotcache-request-finished")
        request_started.connect(sites.request_started, dispatch_uid="sites-request-started")
        request_finished.connect(sites.request_finished, dispatch_uid="sites-request-finished")
