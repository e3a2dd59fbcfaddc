"""Our ``{% url %}``, ``{% querystring %}`` and ``{% icon %}`` say exactly what the originals say.

webmail/templatetags/fastbuiltins.py replaces two of Django's built-in tags for speed
(templates load it as a builtin); each case below is rendered by Django's own tag and by
ours, and must come out the same, character for character. The remembered addresses and
icons follow a change of the settings they depend on.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.template import Engine, RequestContext
from django.test import RequestFactory, override_settings
from django.urls import set_script_prefix

from webmail.templatetags.fastbuiltins import RememberedURLNode
from webmail.templatetags.icons import icon

ICONS = {"icons": "webmail.templatetags.icons"}
DJANGO = Engine(libraries=ICONS)
OURS = Engine(builtins=["webmail.templatetags.fastbuiltins"], libraries=ICONS)

QUERIES = [
    "",
    "folder=INBOX&uid=7",
    "a=1&a=2&b=%C3%A9t%C3%A9&c=",
    "uid=3&remote=1&tree=1.2.3",
    "q=a+b%2Bc&%C3%A9=1&uid=7&uid=8&folder=x%26y",
]
QUERYSTRINGS = [
    "{% querystring %}",
    "{% querystring folder=folder uid=uid remote=None tree=None %}",
    "{% querystring folder=folder uid=uid mode='reply' remote=None tree=None %}",
    "{% querystring a=many %}",
    "{% querystring b=None c=None a=None %}",
    "{% querystring other folder=folder %}",
    "{% querystring uid=uid a=empty b=pair q='+ & /' %}",
]
URLS = [
    "{% url 'mailbox:list' %}",
    "{% url 'reading:message' %}?x=1",
    '{% url "compose:write" %}',
    "{% url name %}",
    "{% url 'mailbox:list' as there %}[{{ there }}]",
]


def _render(engine: Engine, source: str, query: str, **extra: Any) -> str:
    request = RequestFactory().get(f"/mail/?{query}")
    context = {
        "folder": "Lists/été & co",
        "uid": 42,
        "many": ["x", "y&z"],
        "empty": [],
        "pair": ("1", "é ü"),
        "name": "accounts:logout",
    }
    context.update(extra)
    return engine.from_string(source).render(RequestContext(request, context))


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("source", QUERYSTRINGS)
def test_querystring_says_what_djangos_says(source: str, query: str) -> None:
    from django.http import QueryDict

    other = QueryDict("x=1&folder=old", mutable=False)
    assert _render(OURS, source, query, other=other) == _render(DJANGO, source, query, other=other)


@pytest.mark.parametrize("source", URLS)
def test_url_says_what_djangos_says(source: str) -> None:
    for _ in range(2):  # the second time from memory
        assert _render(OURS, source, "") == _render(DJANGO, source, "")
    assert isinstance(OURS.from_string("{% url 'mailbox:list' %}").nodelist[0], RememberedURLNode)


def test_a_remembered_address_follows_the_script_prefix() -> None:
    source = "{% url 'mailbox:list' %}"
    plain = _render(OURS, source, "")
    try:
        set_script_prefix("/webmail/")
        assert _render(OURS, source, "") == "/webmail" + plain == _render(DJANGO, source, "")
    finally:
        set_script_prefix("/")
    assert _render(OURS, source, "") == plain


def test_the_project_templates_use_the_fast_tags() -> None:
    from django.template import engines

    template = getattr(engines["django"].from_string("{% url 'mailbox:list' %}"), "template")  # noqa: B009
    assert isinstance(template.nodelist[0], RememberedURLNode)


def test_icons_say_what_they_said_and_follow_the_static_url() -> None:
    source = '{% load icons %}{% icon "star" %}{% icon "mail" "brand-icon" %}{% icon name %}'
    first = _render(DJANGO, source, "", name='x" onload="y')
    assert first.count("<svg") == 3 and 'onload="y' not in first  # a variable is still escaped
    assert _render(DJANGO, source, "", name='x" onload="y') == first  # the same from memory
    assert str(icon("star")) in first
    # A literal (a SafeString, left as written) and a variable of the same text (escaped)
    # are remembered apart.
    both = _render(DJANGO, """{% load icons %}{% icon 'a"b' %}{% icon name %}""", "", name='a"b')
    assert 'sprite.svg#a"b"' in both and 'sprite.svg#a&quot;b"' in both
    with override_settings(STATIC_URL="/elsewhere/"):
        assert "/elsewhere/vendor/lucide/sprite.svg#star" in str(icon("star"))
    assert "/elsewhere/" not in str(icon("star"))
