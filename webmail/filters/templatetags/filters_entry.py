"""The settings page's entry for filters: a link, or why the server offers none (no ManageSieve)."""

from __future__ import annotations

from typing import Any

from django import template

from webmail.filters.availability import unavailable_reason

register = template.Library()


@register.simple_tag(takes_context=True)
def filters_unavailable_reason(context: dict[str, Any]) -> str:
    """From the configuration and the shared cache only: no connection is opened here."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ""
    return unavailable_reason(user) or ""
