"""``{% icon "name" %}``: one Lucide icon from the vendored sprite (static/vendor/lucide/).

Drawn with <use>, so the icon takes the text colour and the page loads one file of
icons, cached, whatever the number shown. Decorative by default (aria-hidden): the
control that holds an icon carries the words (a label, aria-label or title).
"""

from __future__ import annotations

from django import template
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

SPRITE = "vendor/lucide/sprite.svg"


@register.simple_tag
def icon(name: str, extra_class: str = "") -> SafeString:
    classes = f"icon icon-{name} {extra_class}".strip()
    return format_html(
        '<svg class="{}" aria-hidden="true" focusable="false"><use href="{}#{}"></use></svg>',
        classes,
        static(SPRITE),
        name,
    )


@register.simple_tag
def icon_sprite() -> str:
    """The sprite's address, for scripts that draw icons themselves (data-icons on <body>)."""
    return static(SPRITE)
