from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocsConfig(AppConfig):
    name = "apps.docs"
    label = "docs"
    verbose_name = _("Docs")
