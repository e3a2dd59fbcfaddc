"""``{% icon "name" %}``: one Lucide icon from the vendored sprite (static/vendor/lucide/).

Drawn with <use>, so the icon takes the text colour and the page loads one file of
icons, cached, whatever the number shown. Decorative by default (aria-hidden): the
control that holds an icon carries the words (a label, aria-label or title).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

SPRITE = "vendor/lucide/sprite.svg"
_PLAIN = (str, SafeString)  # template literals arrive as SafeString


@register.simple_tag
def icon(name: str, extra_class: str = "") -> SafeString:
    if type(name) in _PLAIN and type(extra_class) in _PLAIN:  # typed: a SafeString escapes differently
        return _remembered_icon(name, extra_class)
    return _icon(name, extra_class)


def _icon(name: str, extra_class: str) -> SafeString:
    classes = f"icon icon-{name} {extra_class}".strip()
    return format_html(
        '<svg class="{}" aria-hidden="true" focusable="false"><use href="{}#{}"></use></svg>',
        classes,
        static(SPRITE),
        name,
    )


# A page draws dozens of icons from a handful of names: each markup is made once per
# process (the sprite's address is fixed while it runs), until a test changes the settings.
_remembered_icon = lru_cache(maxsize=256, typed=True)(_icon)


@register.simple_tag
def icon_sprite() -> str:
    """The sprite's address, for scripts that draw icons themselves (data-icons on <body>)."""
    return static(SPRITE)


@receiver(setting_changed)
def _forget_icons(*, setting: str, **kwargs: Any) -> None:
    if setting in {"STATIC_URL", "STORAGES", "FORCE_SCRIPT_NAME"}:
        _remembered_icon.cache_clear()
