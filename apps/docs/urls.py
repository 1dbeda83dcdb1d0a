from django.urls import path
from django.utils.translation import gettext_lazy as _

from apps.core.sections import section_view

app_name = "docs"

urlpatterns = [
    path(
        "docs/",
        section_view(
            heading=_("Documentation"), summary=_("Guides and reference for the REST API, models and API keys.")
        ),
        name="index",
    ),
    path(
        "tutorials/",
        section_view(
            heading=_("Tutorials"), summary=_("Step-by-step courses, from a first request to a model in production.")
        ),
        name="tutorials",
    ),
]
