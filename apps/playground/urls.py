from django.urls import path
from django.utils.translation import gettext_lazy as _

from apps.core.sections import section_view

app_name = "playground"

urlpatterns = [
    path(
        "playground/",
        section_view(heading=_("Playground"), summary=_("Try every published model in the browser.")),
        name="index",
    ),
]
