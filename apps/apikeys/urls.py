from django.urls import path
from django.utils.translation import gettext_lazy as _

from apps.core.sections import section_view

app_name = "apikeys"

urlpatterns = [
    path(
        "account/keys/",
        section_view(heading=_("API keys"), summary=_("Create, rotate and revoke the keys your programs use.")),
        name="key_list",
    ),
]
