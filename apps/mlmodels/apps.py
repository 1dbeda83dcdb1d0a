from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MlmodelsConfig(AppConfig):
    name = "apps.mlmodels"
    label = "mlmodels"
    verbose_name = _("Models")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from apps.core.hotcache import bump

        from .models import MLModel, ModelVersion

        # The request path keeps copies of serving versions (selectors._SERVING).
        for model in (MLModel, ModelVersion):
            post_save.connect(bump, sender=model, dispatch_uid=f"hotcache-save-{model._meta.label}")
            post_delete.connect(bump, sender=model, dispatch_uid=f"hotcache-delete-{model._meta.label}")
