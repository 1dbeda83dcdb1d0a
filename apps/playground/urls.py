from django.urls import path
from django.utils.translation import gettext_lazy as _

from apps.core.sections import section_view

app_name = "playground"

_playground = section_view(heading=_("Playground"), summary=_("Try every published model in the browser."))

urlpatterns = [
    path("playground/", _playground, name="index"),
    path("playground/<slug:model>/", _playground, name="model"),
]
