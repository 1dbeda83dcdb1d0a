from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = _("Users")  # allauth's own app is "Accounts"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects receivers)
