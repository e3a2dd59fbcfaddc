"""Our ``i18n`` library (webmail/templatetags/fasti18n.py) says what Django's says.

Each template is rendered by Django's own library and by ours, in English and French,
with autoescaping on and off, twice (the second time from memory), and must come out the
same. The app's templates get ours when they ``{% load i18n %}``.
"""

from __future__ import annotations

import pytest
from django.template import Context, Engine, engines
from django.test import override_settings
from django.utils import translation

from webmail.templatetags import fasti18n
from webmail.templatetags.fasti18n import RememberedTranslateNode

DJANGO = Engine(libraries={"i18n": "django.templatetags.i18n"})
OURS = Engine(libraries={"i18n": "webmail.templatetags.fasti18n"})

SOURCES = [
    '{% translate "Reply" %}|{% trans "Forward" %}|{% translate "Delete" %}',
    "{% translate 'Back to the list' %} {% translate \"50%% off & <more>\" %}",
    '{% translate "Reply" as r %}[{{ r }}]',
    '{% translate "May" context "month name" %}',
    '{% translate "Reply" noop %}',
    "{% translate word %}|{% translate word|upper %}",
    "{% blocktranslate count n=2 %}and {{ n }} more{% plural %}and {{ n }} more{% endblocktranslate %}",
    "{% get_current_language as lang %}{{ lang }}",
]


def _render(engine: Engine, source: str, *, autoescape: bool) -> str:
    template = engine.from_string("{% load i18n %}" + source)
    return template.render(Context({"word": "Reply & <b>"}, autoescape=autoescape))


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("autoescape", [True, False])
def test_says_what_djangos_says(source: str, language: str, autoescape: bool) -> None:
    with translation.override(language):
        for _ in range(2):
            ours = _render(OURS, source, autoescape=autoescape)
            assert ours == _render(DJANGO, source, autoescape=autoescape)


def test_one_template_follows_the_language() -> None:
    template = OURS.from_string('{% load i18n %}{% translate "Reply" %}')
    assert isinstance(template.nodelist[1], RememberedTranslateNode)
    said = {}
    for language in ("en", "fr", "en", "fr"):
        with translation.override(language):
            said.setdefault(language, template.render(Context()))
            assert template.render(Context()) == said[language]
    assert said["en"] == "Reply" and said["fr"] != "Reply"


def test_a_catalogue_setting_change_forgets() -> None:
    source = '{% load i18n %}{% translate "Reply" %}'
    template = OURS.from_string(source)
    generation = fasti18n._current
    with translation.override("fr"):
        template.render(Context())
        with override_settings(LOCALE_PATHS=[]):  # Django drops its catalogues (and the active one)
            assert fasti18n._current != generation
            assert template.render(Context()) == DJANGO.from_string(source).render(Context())
        assert template.render(Context()) == DJANGO.from_string(source).render(Context())


def test_the_app_templates_load_ours() -> None:
    template = engines["django"].from_string('{% load i18n %}{% translate "Reply" %}')
    assert isinstance(template.template.nodelist[1], RememberedTranslateNode)
