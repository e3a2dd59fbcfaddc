"""``{% settings_sections as nav %}``: the settings navigation (webmail/preferences/sections.py)."""

from __future__ import annotations

from django import template

from webmail.preferences.sections import NavItem, navigation

register = template.Library()


@register.simple_tag(takes_context=True)
def settings_sections(context: template.Context) -> list[NavItem]:
    request = context.get("request")
    return navigation(request.path if request is not None else "")
