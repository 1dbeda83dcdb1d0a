"""The three roles of the portal, kept as Django groups."""

from django.utils.translation import gettext_lazy as _

DEVELOPER = "Developer"
MODERATOR = "Moderator"
ADMIN = "Admin"

ROLES = (DEVELOPER, MODERATOR, ADMIN)
ROLE_LABELS = {DEVELOPER: _("Developer"), MODERATOR: _("Moderator"), ADMIN: _("Admin")}
