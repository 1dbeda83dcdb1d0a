from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MlmodelsConfig(AppConfig):
    name = "apps.mlmodels"
    label = "mlmodels"
    verbose_name = _("Models")
