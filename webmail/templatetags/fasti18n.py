"""Django's ``i18n`` tag library, with ``{% translate "literal" %}`` remembered per language.

Templates ``{% load i18n %}``; settings.TEMPLATES maps that name to this module, which
holds every tag and filter of Django's library unchanged but one: a ``{% translate %}``
of a constant string (no filter, no ``as``, no ``context``, no ``noop``), the reading
pane has some forty, each a lazy object, a catalogue lookup and an escape per render.
Its output depends only on the language and on autoescaping, so it is kept on the node
per both and made once. Whatever may change a catalogue (the language settings, a
``.mo`` file reloaded in development) forgets everything remembered.

tests/unit/test_fast_i18n.py renders against Django's own library.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.base import Parser, Token, Variable
from django.template.context import Context
from django.templatetags import i18n as django_i18n
from django.utils.autoreload import file_changed
from django.utils.safestring import SafeString
from django.utils.translation import get_language

register = template.Library()
register.tags.update(django_i18n.register.tags)
register.filters.update(django_i18n.register.filters)

_generation = itertools.count()
_current = next(_generation)


def _forget() -> None:
    global _current
    _current = next(_generation)


@receiver(setting_changed)
def _forget_on_setting(*, setting: str, **kwargs: Any) -> None:
    if setting in {"LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS"}:
        _forget()


@receiver(file_changed)
def _forget_on_catalogue(*, file_path: Path, **kwargs: Any) -> None:
    if file_path.suffix == ".mo":
        _forget()


class RememberedTranslateNode(django_i18n.TranslateNode):
    """``{% translate "constant" %}``: rendered once per language and autoescaping."""

    def __init__(self, node: django_i18n.TranslateNode) -> None:
        super().__init__(node.filter_expression, node.noop, node.asvar, node.message_context)
        self._made: dict[tuple[int, str | None, bool], str | SafeString] = {}

    def render(self, context: Context) -> str:
        key = (_current, get_language(), context.autoescape)
        made = self._made.get(key)
        if made is None:
            made = super().render(context)
            if len(self._made) >= 16:  # languages times autoescape, and stale generations
                self._made.clear()
            self._made[key] = made
        return made


def _constant(node: django_i18n.TranslateNode) -> bool:
    expression = node.filter_expression
    var = expression.var
    return (
        not node.noop
        and node.asvar is None
        and node.message_context is None
        and not expression.filters
        and isinstance(var, Variable)
        and var.lookups is None  # a literal, not a variable
    )


@register.tag("translate")
@register.tag("trans")
def do_translate(parser: Parser, token: Token) -> django_i18n.TranslateNode:
    node = django_i18n.do_translate(parser, token)
    return RememberedTranslateNode(node) if _constant(node) else node
