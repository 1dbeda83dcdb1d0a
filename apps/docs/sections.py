"""The docs sections in navigation order, and the course levels. Page front matter names a
section by its slug; the titles are UI strings, translated like the rest of the interface."""

from django.utils.translation import gettext_lazy as _

DOC_SECTIONS: dict[str, object] = {
    "get-started": _("Get started"),
    "api": _("Using the API"),
    "models": _("Models"),
    "operations": _("Running the portal"),
    "community": _("Community"),
}

LEVELS: dict[str, object] = {
    "beginner": _("Beginner"),
    "intermediate": _("Intermediate"),
    "advanced": _("Advanced"),
}

# The search filter's extra "sections" beside the docs sections.
TUTORIALS = "tutorials"
FORUM = "forum"
MODELS = "models-registry"


SEARCH_AREAS: dict[str, object] = {
    TUTORIALS: _("Tutorials"),
    FORUM: _("Forum"),
    MODELS: _("Published models"),
}


def section_title(slug: str) -> object:
    return DOC_SECTIONS.get(slug) or SEARCH_AREAS.get(slug) or slug
