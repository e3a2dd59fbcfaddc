"""``{% fragment %}``: rendered once per key, and blind to everything its key does not name.

webmail/templatetags/fragments.py keeps the shell of every page in memory. What matters
is that it can never show one person what belongs to another: the body sees only the
values named on the tag, every one of them is part of the key, and so is the language.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.http import QueryDict
from django.template import Context, Engine, TemplateSyntaxError
from django.test import override_settings
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from webmail.templatetags import fragments

ENGINE = Engine(
    libraries={
        "fragments": "webmail.templatetags.fragments",
        "i18n": "django.templatetags.i18n",
        "static": "django.templatetags.static",
    },
    builtins=["webmail.templatetags.fastbuiltins"],
)


def render(source: str, **values: object) -> str:
    return ENGINE.from_string("{% load i18n fragments %}" + source).render(Context(values))


@dataclass(frozen=True)
class Box:
    name: str
    count: int


@dataclass
class Mutable:
    name: str


def test_the_body_sees_only_the_named_values() -> None:
    template = ENGINE.from_string(
        "{% load fragments %}{% fragment a=x %}[{{ a }}|{{ x }}|{{ secret }}]{% endfragment %}"
    )
    assert template.render(Context({"x": 1, "secret": "alice's"})) == "[1||]"


def test_a_csrf_token_never_reaches_a_fragment() -> None:
    template = ENGINE.from_string("{% load fragments %}{% fragment %}<{% csrf_token %}>{% endfragment %}")
    assert template.render(Context({"csrf_token": "the-token"})) == "<>"


def test_rendered_once_per_key() -> None:
    template = ENGINE.from_string("{% load fragments %}{% fragment a=x %}{{ a }}{% endfragment %}")
    (node,) = template.nodelist.get_nodes_by_type(fragments.FragmentNode)
    assert template.render(Context({"x": "one"})) == "one"
    node.nodelist = ENGINE.from_string("changed").nodelist  # what a second render would say
    assert template.render(Context({"x": "one"})) == "one", "the same key: not rendered again"
    assert template.render(Context({"x": "two"})) == "changed", "another key: rendered"


def test_every_named_value_is_part_of_the_key() -> None:
    source = "{% fragment a=x b=y %}{{ a }}/{{ b }}{% endfragment %}"
    template = ENGINE.from_string("{% load fragments %}" + source)
    assert template.render(Context({"x": 1, "y": True})) == "1/True"
    assert template.render(Context({"x": 1, "y": False})) == "1/False"
    assert template.render(Context({"x": 1, "y": None})) == "1/None"


def test_the_language_is_part_of_the_key() -> None:
    template = ENGINE.from_string(
        '{% load i18n fragments %}{% fragment %}{% translate "Inbox" %}{% endfragment %}'
    )
    with translation.override("en"):
        assert template.render(Context()) == "Inbox"
    with translation.override("fr"):
        assert template.render(Context()) == "Boîte de réception"
    with translation.override("en"):
        assert template.render(Context()) == "Inbox"


def test_frozen_dataclasses_key_on_all_their_fields() -> None:
    template = ENGINE.from_string(
        "{% load fragments %}{% fragment boxes=boxes %}"
        "{% for b in boxes %}{{ b.name }}:{{ b.count }} {% endfor %}{% endfragment %}"
    )
    assert template.render(Context({"boxes": [Box("Inbox", 2)]})) == "Inbox:2 "
    assert template.render(Context({"boxes": [Box("Inbox", 3)]})) == "Inbox:3 "
    assert template.render(Context({"boxes": (Box("Inbox", 3), Box("Sent", 0))})) == "Inbox:3 Sent:0 "


def test_a_query_keys_on_its_pairs_and_feeds_querystring() -> None:
    template = ENGINE.from_string(
        "{% load fragments %}{% fragment query=q %}{% querystring query page=2 %}{% endfragment %}"
    )
    assert template.render(Context({"q": QueryDict("folder=INBOX")})) == "?folder=INBOX&amp;page=2"
    assert template.render(Context({"q": QueryDict("folder=Sent")})) == "?folder=Sent&amp;page=2"


def test_a_lazy_translation_keys_on_its_text() -> None:
    template = ENGINE.from_string("{% load fragments %}{% fragment t=title %}{{ t }}{% endfragment %}")
    with translation.override("fr"):
        assert template.render(Context({"title": gettext_lazy("Inbox")})) == "Boîte de réception"


@pytest.mark.parametrize("value", [{"a": 1}, Mutable("x"), object(), [{"a": 1}], 1.5])
def test_values_that_could_hold_more_than_the_key_says_are_refused(value: object) -> None:
    template = ENGINE.from_string("{% load fragments %}{% fragment v=value %}{{ v }}{% endfragment %}")
    with pytest.raises(TemplateSyntaxError, match="cannot key on"):
        template.render(Context({"value": value}))


def test_only_name_value_pairs() -> None:
    with pytest.raises(TemplateSyntaxError, match="name=value"):
        ENGINE.from_string("{% load fragments %}{% fragment x %}{% endfragment %}")


def test_variants_are_bounded() -> None:
    template = ENGINE.from_string("{% load fragments %}{% fragment n=n %}{{ n }}{% endfragment %}")
    (node,) = template.nodelist.get_nodes_by_type(fragments.FragmentNode)
    for n in range(fragments.MAX_VARIANTS * 2 + 5):
        assert template.render(Context({"n": n})) == str(n)
        assert len(node.rendered) <= fragments.MAX_VARIANTS


def test_a_change_of_settings_forgets_every_body() -> None:
    template = ENGINE.from_string(
        "{% load fragments static %}{% fragment %}{% static 'a.css' %}{% endfragment %}"
    )
    before = template.render(Context())
    with override_settings(STATIC_URL="/elsewhere/"):
        assert template.render(Context()) == "/elsewhere/a.css"
    assert template.render(Context()) == before


def test_the_helper_render_escapes_as_the_page_does() -> None:
    assert render("{% fragment v=v %}{{ v }}{% endfragment %}", v="<b>") == "&lt;b&gt;"


def test_what_a_tag_keeps_is_bounded_in_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fragments, "MAX_CHARS", 800)
    template = ENGINE.from_string("{% load fragments %}{% fragment n=n %}{{ n }}{% endfragment %}")
    (node,) = template.nodelist.get_nodes_by_type(fragments.FragmentNode)
    for n in range(50):
        text = str(n) * 90  # 90-180 characters: kept, until they add up past the budget
        assert template.render(Context({"n": text})) == text
        assert node.chars == sum(map(len, node.rendered.values())) <= 800
    assert node.rendered, "bodies under an eighth of the budget are kept"
    big = "x" * 101  # over an eighth: rendered every time, never kept
    assert template.render(Context({"n": big})) == big
    assert all(value != big for value in node.rendered.values())


def test_a_querys_encoding_is_part_of_its_key() -> None:
    # The same pairs, read from a request that declared latin-1: its links encode otherwise,
    # and must never be served to the next person's page.
    template = ENGINE.from_string(
        "{% load fragments %}{% fragment query=q %}{% querystring query %}{% endfragment %}"
    )
    utf8 = QueryDict("folder=Entw%C3%BCrfe")
    latin1 = QueryDict("folder=Entw%FCrfe", encoding="latin-1")
    assert utf8["folder"] == latin1["folder"] == "Entwürfe"
    assert template.render(Context({"q": latin1})) == "?folder=Entw%FCrfe"
    assert template.render(Context({"q": utf8})) == "?folder=Entw%C3%BCrfe"


def test_values_that_compare_equal_but_render_differently_are_told_apart() -> None:
    template = ENGINE.from_string("{% load fragments %}{% fragment v=v %}{{ v }}{% endfragment %}")
    assert template.render(Context({"v": mark_safe("<b>")})) == "<b>"
    assert template.render(Context({"v": "<b>"})) == "&lt;b&gt;"
    assert template.render(Context({"v": True})) == "True"
    assert template.render(Context({"v": 1})) == "1"
