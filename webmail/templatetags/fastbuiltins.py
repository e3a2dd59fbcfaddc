"""Drop-in replacements for two of Django's built-in tags, on every page's hot path.

Loaded as template builtins after Django's own (settings.TEMPLATES), so every
template gets them without ``{% load %}``, with the same syntax and output:

- ``{% querystring %}``: Django's copies ``request.GET`` with ``QueryDict.copy()``,
  a ``deepcopy`` (some 50 µs each; the reading pane's bar has a dozen), then encodes
  it with one ``urlencode()`` call per pair. Here a plain dict of the query's lists,
  encoded pair by pair with ``quote_plus`` (what that call does): the same string.
- ``{% url %}`` without arguments: the same address on every page (a list page has
  some 25), yet each ``reverse()`` walks the resolver (about 25 µs). Remembered per
  name, URLconf, script prefix, current app and language; forgotten whenever Django
  clears its own URL caches (a test overriding ROOT_URLCONF).

tests/unit/test_fast_builtins.py renders both against Django's own tags.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote_plus

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import QueryDict
from django.http.request import bytes_to_text
from django.template.base import FilterExpression, Parser, Token
from django.template.context import Context
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import get_script_prefix, get_urlconf
from django.utils.translation import get_language

register = template.Library()


@register.simple_tag(name="querystring", takes_context=True)
def querystring(context: Context, query_dict: QueryDict | None = None, **kwargs: Any) -> str:
    """Django 5.2's ``{% querystring %}``, without copying a QueryDict."""
    if query_dict is None:
        request: Any = getattr(context, "request", None)  # a RequestContext's; Context has none
        query_dict = request.GET
    encoding = query_dict.encoding
    # The query's lists in a plain dict (its order, as QueryDict keeps it), changed as
    # QueryDict's own setters change them, then encoded pair by pair as QueryDict.urlencode
    # does (quote_plus of each key and value), without its per-pair urlencode() call.
    params = dict(query_dict.lists())
    for key, value in kwargs.items():
        if value is None:
            params.pop(key, None)
        elif isinstance(value, Iterable) and not isinstance(value, str):
            params[key] = [bytes_to_text(v, encoding) for v in value]
        else:
            params[key] = [bytes_to_text(value, encoding)]
    if not params and not query_dict:
        return ""
    pairs = (
        f"{quote_plus(str(key), encoding=encoding)}={quote_plus(str(v), encoding=encoding)}"
        for key, values in params.items()
        for v in values
    )
    return f"?{'&'.join(pairs)}"


_addresses: dict[tuple[object, ...], str] = {}
_MAX_ADDRESSES = 1000  # names times prefixes: a few dozen in practice


@receiver(setting_changed)
def _forget_addresses(*, setting: str, **kwargs: Any) -> None:
    if setting in {"ROOT_URLCONF", "FORCE_SCRIPT_NAME", "LANGUAGE_CODE"}:
        _addresses.clear()


class RememberedURLNode(URLNode):
    """``{% url 'name' %}`` (no arguments, no ``as``): reversed once, then remembered."""

    def render(self, context: Context) -> str:
        if self.args or self.kwargs or self.asvar:
            return super().render(context)
        key = (
            self.view_name.resolve(context),
            _current_app(context),
            get_urlconf(),
            get_script_prefix(),
            get_language(),
            context.autoescape,
        )
        address = _addresses.get(key)
        if address is None:
            address = super().render(context)
            if len(_addresses) >= _MAX_ADDRESSES:
                _addresses.clear()
            _addresses[key] = address
        return address


def _current_app(context: Context) -> str | None:
    """As URLNode.render finds it: the request's current_app, else its URL's namespace."""
    request: Any = getattr(context, "request", None)  # a RequestContext's; Context has none
    try:
        return request.current_app
    except AttributeError:
        match = getattr(request, "resolver_match", None)
        return getattr(match, "namespace", None)


@register.tag(name="url")
def url(parser: Parser, token: Token) -> URLNode:
    node = django_url(parser, token)
    view_name: FilterExpression = node.view_name
    return RememberedURLNode(view_name, node.args, node.kwargs, node.asvar)
