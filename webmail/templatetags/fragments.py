"""``{% fragment name=value ... %}…{% endfragment %}``: a piece of a page rendered once per process.

Most of a page's shell (the bars' buttons, menus, the compose panel, the head's links) is
the same for everyone who reads it in the same language: rendering it on every list page
was about half of a warm list request. A fragment's body is rendered once per language,
script prefix and set of named values, then served from memory.

Safe by construction, not by care: the body sees *only* the values named on the tag, in a
context of its own. Anything else it refers to (the user, the request, the CSRF token) is
empty there, so a fragment that depends on more than its key renders visibly wrong in the
tests instead of serving one person's page to another. The named values must be plain
(str, int, bool, None; lists, tuples and frozensets of them; frozen dataclasses of them,
such as a Folder; a request's QueryDict), so the key says all they hold.

Unlike Django's ``{% cache %}``, nothing goes through a cache backend (a round trip to
Redis would cost more than most fragments take to render) and nothing expires: a body is
a function of its key. Each tag keeps at most ``MAX_VARIANTS`` bodies and ``MAX_CHARS``
characters; all are dropped when a test changes settings.
"""

from __future__ import annotations

import dataclasses
import operator
import weakref
from collections.abc import Callable
from typing import Any

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import QueryDict
from django.template.base import FilterExpression, NodeList, Parser, Token, token_kwargs
from django.template.context import Context
from django.urls import get_script_prefix
from django.utils.functional import Promise
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

register = template.Library()

MAX_VARIANTS = 256  # per tag: languages times the few values a fragment is keyed on
# Per tag, in characters: a folder tree of hundreds of folders, kept for as many people,
# would otherwise hold tens of MB. A body over an eighth of this is rendered, not kept.
MAX_CHARS = 2_000_000
_PLAIN = (str, int, bool, type(None))
_nodes: weakref.WeakSet[FragmentNode] = weakref.WeakSet()  # templates parsed anew (DEBUG) go


class FragmentNode(template.Node):
    def __init__(self, nodelist: NodeList, values: dict[str, FilterExpression]) -> None:
        self.nodelist = nodelist
        self.values = values
        self.rendered: dict[tuple[object, ...], SafeString] = {}
        self.chars = 0  # kept in `rendered`
        _nodes.add(self)

    def render(self, context: Context) -> str:
        values = {name: expression.resolve(context) for name, expression in self.values.items()}
        key = (get_language(), get_script_prefix(), context.autoescape, *map(_frozen, values.values()))
        html = self.rendered.get(key)
        if html is None:
            own = Context(
                values, autoescape=context.autoescape, use_l10n=context.use_l10n, use_tz=context.use_tz
            )
            own.template = context.template  # for {% include %} inside the body
            html = mark_safe(self.nodelist.render(own))  # noqa: S308 - the body's own escaped output
            self.keep(key, html)
        return html

    def keep(self, key: tuple[object, ...], html: SafeString) -> None:
        if len(html) > MAX_CHARS // 8:
            return
        if len(self.rendered) >= MAX_VARIANTS or self.chars + len(html) > MAX_CHARS:
            self.forget()
        self.rendered[key] = html
        self.chars += len(html)

    def forget(self) -> None:
        self.rendered.clear()
        self.chars = 0


def _frozen(value: object) -> object:
    """The value as a key that holds all of it; a value that could hold more is refused."""
    if type(value) is str:
        return value
    if isinstance(value, _PLAIN):  # typed: True is 1 as a key, and a SafeString escapes differently
        return (type(value), value)
    if isinstance(value, Promise):  # a lazy translation: its text in the key's language
        return str(value)
    if isinstance(value, QueryDict):  # a request's query, for {% querystring query ... %} in the body
        pairs = tuple((name, tuple(values)) for name, values in value.lists())
        return (QueryDict, value.encoding, pairs)  # {% querystring %} encodes with it
    if isinstance(value, (tuple, list)):
        return tuple(map(_frozen, value))
    if isinstance(value, frozenset):
        return frozenset(map(_frozen, value))
    kind = type(value)
    if kind not in _field_readers:
        _field_readers[kind] = _read_fields(kind)
    fields = _field_readers[kind]
    if fields is not None:
        return (type(value), *map(_frozen, fields(value)))
    raise template.TemplateSyntaxError(
        f"{{% fragment %}} cannot key on a {type(value).__name__}: name plain values"
    )


_field_readers: dict[type, Callable[[object], tuple[object, ...]] | None] = {}


def _read_fields(kind: type) -> Callable[[object], tuple[object, ...]] | None:
    """Reads all fields of a frozen dataclass, as a tuple; None for any other type."""
    params = getattr(kind, "__dataclass_params__", None)
    if params is None or not params.frozen:
        return None
    names = [f.name for f in dataclasses.fields(kind)]
    read = operator.attrgetter(*names)
    return read if len(names) > 1 else lambda value: (read(value),)


@register.tag
def fragment(parser: Parser, token: Token) -> FragmentNode:
    bits = token.split_contents()[1:]
    values = token_kwargs(bits, parser, support_legacy=False)
    if bits:
        raise template.TemplateSyntaxError("{% fragment %} takes only name=value pairs")
    nodelist = parser.parse(("endfragment",))
    parser.delete_first_token()
    return FragmentNode(nodelist, values)


@receiver(setting_changed)
def _forget_fragments(**kwargs: Any) -> None:
    # Static and URL prefixes, languages, template options: any may change what a body says.
    for node in list(_nodes):
        node.forget()
