"""The linear pre-check that keeps the HTML5 parser from going quadratic or exploding.

Each attack is markup that a fast C/Rust HTML5 parser (lexbor, html5ever) would take
seconds or gigabytes to build; the check must refuse it in milliseconds, before the
parser sees it. Real mail shapes that look similar must still pass.
"""

from __future__ import annotations

import random
import time

import pytest

from webmail.sanitize import HtmlTooComplex, policy
from webmail.sanitize.limits import check_parse_cost

BOLD_500 = "<p>" + "".join(f'<b class="c{i}">' for i in range(500)) + "</p>"

ATTACKS = {
    # 60,000 nested <div>: lexbor needs 7 s, html5ever 10 s.
    "deep_div_nesting": "<div>" * 60_000 + "x",
    # `<!-->` is a whole comment to the parser: a model that read on to the next `-->`
    # would miss every <div>.
    "divs_behind_abrupt_comments": "<!--><div>" * 20_000,
    # Inside <style> a comment is text: `</style>` still ends it.
    "divs_behind_style_comments": "<style><!--</style><div>" * 20_000,
    # `</span>` is ignored with a <div> open above the <span>: nothing is closed.
    "ignored_inline_end_tags": "<span><div></span>" * 20_000,
    # `</li>` only looks down to the nearest list: the <ul> stays open.
    "list_item_scope": "<li><ul></li>" * 20_000,
    # `</div>` cannot close a <div> outside the table cell: the cells nest.
    "table_cell_scope": "<div><table><tr><td></div>" * 20_000,
    # Every <p> reopens the 500 distinct <b> elements closed by the previous </p>:
    # 88 kB made lexbor build 5 million elements (1.8 GB).
    "formatting_reopened_by_text": BOLD_500 + "<p>x</p>" * 10_000,
    "formatting_reopened_by_start_tags": BOLD_500 + "<p><span></span></p>" * 10_000,
    "formatting_reopened_after_div_close": "".join(f'<div><b class="c{i}"></div>' for i in range(3000)) + "x",
    "select_swallows_nothing": "<select>" + "<div>" * 5_000,
    "noscript_is_markup_without_scripting": "<noscript>" + "<div>" * 5_000,
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack_is_refused_before_parsing(name: str) -> None:
    started = time.process_time()  # CPU, not wall time: a guard against runaway work
    with pytest.raises(HtmlTooComplex):
        check_parse_cost(ATTACKS[name])
    assert time.process_time() - started < 2


REAL_MAIL = {
    # Old HTML closes nothing: each start tag closes its predecessor.
    "unclosed_paragraphs": "<p>para" * 20_000,
    "unclosed_list_items": "<ul>" + "<li><b>x</b>" * 20_000 + "</ul>",
    "definition_lists": "<dl>" + "<dt>t<dd>d" * 10_000 + "</dl>",
    "table_rows_without_end_tags": "<table>" + "<tr><td>a<td>b" * 10_000 + "</table>",
    # Word and Outlook: the same <font> a thousand times, closed or not (the parser
    # keeps at most three alike open for reopening).
    "closed_fonts": '<p><font face="Arial">x</font></p>' * 20_000,
    "unclosed_identical_fonts": '<p><font face="Arial">x</p>' * 5_000,
    # Icons drawn with self-closed SVG paths.
    "svg_paths": "<svg>" + "<path d='M0 0'/>" * 5_000 + "</svg><p>ok</p>",
    # A forwarded chain: whole documents one after the other.
    "concatenated_documents": "<html><body><p>x</p></body></html>" * 2_000,
    "script_with_markup_inside": "<script>" + "document.write('<div>');" * 5_000 + "</script><p>x</p>",
    "nesting_just_under_the_limit": "<div>" * (policy.MAX_NESTING_DEPTH - 3) + "x",
}


@pytest.mark.parametrize("name", list(REAL_MAIL))
def test_real_mail_shapes_pass(name: str) -> None:
    check_parse_cost(REAL_MAIL[name])


def test_the_check_is_conservative_at_the_parse_depth_limit() -> None:
    check_parse_cost("<div>" * (policy.MAX_PARSE_DEPTH - 1))
    with pytest.raises(HtmlTooComplex):
        check_parse_cost("<div>" * (policy.MAX_PARSE_DEPTH + 1))


def test_the_parsed_tree_is_held_to_the_exact_nesting_limit() -> None:
    # Passes the pre-check's looser bound, then meets the exact one on the real tree.
    from webmail.sanitize import sanitize_html

    html = "<div>" * (policy.MAX_NESTING_DEPTH + 10) + "x"
    check_parse_cost(html)
    with pytest.raises(HtmlTooComplex):
        sanitize_html(html, cid_url=lambda cid: None, allow_remote=False)


def test_plain_start_tags_meet_no_special_case_of_the_model() -> None:
    # The replay loop handles these itself: only reconstruction, push or count apply.
    from webmail.sanitize import limits

    special = (
        (limits._NO_RECONSTRUCT | limits._CLOSES_P | limits._CELLS | limits._SECTIONS | limits._HEADINGS)
        | limits._MARKERS
        | {"html", "head", "body", "li", "dd", "dt", "tr", "option", "optgroup", "plaintext"}
    )
    assert not limits._PLAIN_START & (special | limits._RAW_TEXT | limits._FOREIGN)


_FUZZ_TAGS = (
    "a b i font span img br div p li ul dl dt dd table tr td th tbody caption "
    "h1 h2 button select option svg path script style title pre plaintext"
).split()


def _random_markup(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randrange(1, 120)):
        tag = rng.choice(_FUZZ_TAGS)
        kind = rng.random()
        if kind < 0.45:
            attrs = rng.choice(("", ' class="x"', ' class="y"', " /", ' href="h"'))
            parts.append(f"<{tag.upper() if rng.random() < 0.1 else tag}{attrs}>")
        elif kind < 0.85:
            parts.append(f"</{tag}>")
        else:
            parts.append(rng.choice(("text", " ", "<!-- c -->", "<!-->", "</>", "<!doctype html>")))
    return "".join(parts)


def _state(model: object) -> tuple[object, ...]:
    from webmail.sanitize.limits import _Model

    assert isinstance(model, _Model)
    return (
        [e.tag for e in model.stack],
        {tag: n for tag, n in model.counts.items() if n},
        [(e.tag, e.open) for e in model.formatting],
        [{key: len(same) for key, same in level.items() if same} for level in model.ark],
        model.elements,
    )


@pytest.mark.parametrize("seed", range(40))
def test_the_replay_shortcuts_leave_the_model_as_its_own_methods_do(seed: int) -> None:
    from webmail.sanitize.limits import _Model, _replay

    rng = random.Random(seed)
    for _ in range(50):
        markup = _random_markup(rng)
        models = [_Model(), _Model()]
        outcomes = []
        for model, shortcuts in zip(models, (True, False), strict=True):
            try:
                _replay(markup, model, shortcuts=shortcuts)
                outcomes.append(None)
            except HtmlTooComplex as error:
                outcomes.append(str(error))
        assert outcomes[0] == outcomes[1], markup
        assert _state(models[0]) == _state(models[1]), markup
