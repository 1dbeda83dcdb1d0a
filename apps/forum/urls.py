from django.urls import path
from django.utils.translation import gettext_lazy as _

from apps.core.sections import section_view

app_name = "forum"

urlpatterns = [
    path(
        "forum/",
        section_view(heading=_("Forum"), summary=_("Ask questions, share what you built and meet the team.")),
        name="index",
    ),
]
