from typing import Any

from django import template

register = template.Library()


@register.filter
def status_for(row: Any, language: str) -> str:
    """A translation status row's state in ``language``: current, outdated or missing."""
    return row.state(language)
