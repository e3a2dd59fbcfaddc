"""The app-wide notice that an imported account needs the user: its OAuth grant was withdrawn."""

from __future__ import annotations

from typing import Any

from django import template

from ..paused import awaiting_reconnect

register = template.Library()


@register.inclusion_tag("imports/_reconnect_notice.html", takes_context=True)
def reconnect_notice(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"accounts": []}
    return {"accounts": awaiting_reconnect(user.pk)}
