"""text/plain bodies rendered as HTML: escaping, links, quotes, format=flowed."""

from __future__ import annotations

from xml.etree.ElementTree import Element

import pytest
from bleach._vendor import html5lib

from webmail.sanitize import render_plain_text

LINK = 'target="_blank" rel="noopener noreferrer"'


def inner(html: str) -> str:
    assert html.startswith('<div class="plain">')
    assert html.endswith("</div>")
    return html[len('<div class="plain">') : -len("</div>")]


def parse(html: str) -> Element:
    parser = html5lib.HTMLParser(tree=html5lib.getTreeBuilder("etree"), namespaceHTMLElements=False)
    return parser.parseFragment(html)


# ---------------------------------------------------------------------------- escaping


def test_markup_is_escaped() -> None:
    html = render_plain_text('<script>alert("x")</script> & <b>bold</b> &amp;')
    assert inner(html) == (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt; &amp;amp;"
    )


def test_whitespace_and_empty_lines_are_kept() -> None:
    assert inner(render_plain_text("a  b\n\n\tc\n")) == "a  b\n\n\tc"


def test_crlf_line_endings() -> None:
    assert inner(render_plain_text("a\r\nb\r\n")) == "a\nb"


def test_empty_text() -> None:
    assert render_plain_text("") == '<div class="plain"></div>'


@pytest.mark.parametrize(
    "text",
    [
        '<img src=x onerror=alert(1)> http://x.example/"onmouseover="alert(1)',
        "https://x.example/<script>alert(1)</script>",
        "javascript:alert(1) data:text/html,<script>alert(1)</script>",
        "> <iframe src=javascript:alert(1)>\n>> <svg onload=alert(1)>",
        "www.x.example/'\"><script>alert(1)</script>",
    ],
)
def test_output_only_has_our_elements_and_safe_links(text: str) -> None:
    for flowed in (False, True):
        fragment = parse(render_plain_text(text, flowed=flowed))
        for node in fragment.iter():
            if node is fragment:
                continue
            assert node.tag in {"div", "a", "blockquote"}
            for name, value in node.attrib.items():
                assert not name.startswith("on")
                if name == "href":
                    assert value.startswith(("http://", "https://", "mailto:"))
            if node.tag == "a":
                assert node.get("target") == "_blank"
                assert node.get("rel") == "noopener noreferrer"


# ------------------------------------------------------------------------------- links


def test_urls_become_links() -> None:
    html = inner(render_plain_text("See https://example.com/a?b=1&c=2."))
    assert html == (
        f'See <a href="https://example.com/a?b=1&amp;c=2" {LINK}>https://example.com/a?b=1&amp;c=2</a>.'
    )


def test_bare_www_and_addresses_become_links() -> None:
    html = inner(render_plain_text("www.example.org or me@example.com"))
    assert html == (
        f'<a href="http://www.example.org" {LINK}>www.example.org</a> or '
        f'<a href="mailto:me@example.com" {LINK}>me@example.com</a>'
    )


def test_mailto_urls_become_links() -> None:
    # bleach links the address; the "mailto:" in front of it stays text.
    html = inner(render_plain_text("write to mailto:me@example.com."))
    assert html == f'write to mailto:<a href="mailto:me@example.com" {LINK}>me@example.com</a>.'


def test_a_link_stops_at_an_escaped_character() -> None:
    html = inner(render_plain_text('<https://example.com/a?b=1&c=2> "https://example.com/q"'))
    assert html == (
        f'&lt;<a href="https://example.com/a?b=1&amp;c=2" {LINK}>https://example.com/a?b=1&amp;c=2</a>&gt; '
        f'&quot;<a href="https://example.com/q" {LINK}>https://example.com/q</a>&quot;'
    )


def test_url_in_angle_brackets() -> None:
    html = inner(render_plain_text("<https://example.com/>"))
    assert html == f'&lt;<a href="https://example.com/" {LINK}>https://example.com/</a>&gt;'


@pytest.mark.parametrize(
    "text", ["javascript:alert(1)", "data:text/html,x", "vbscript:x", "file:///etc/passwd"]
)
def test_other_schemes_stay_text(text: str) -> None:
    assert "<a" not in render_plain_text(text)


# ------------------------------------------------------------------------------ quotes


def test_quotes_nest_by_depth() -> None:
    text = "Hi\n> one\n>> two\n> > also two\n> back to one\n\nreply"
    assert inner(render_plain_text(text)) == (
        'Hi<blockquote class="quote">one<blockquote class="quote">two\nalso two'
        "</blockquote>back to one</blockquote>\nreply"
    )


def test_quoted_line_keeps_its_indentation_after_one_space() -> None:
    assert inner(render_plain_text(">    code")) == '<blockquote class="quote">   code</blockquote>'


def test_empty_quote_line() -> None:
    assert inner(render_plain_text("> a\n>\n> b")) == '<blockquote class="quote">a\n\nb</blockquote>'


def test_links_inside_quotes() -> None:
    html = inner(render_plain_text("> https://example.com/"))
    assert html == (
        f'<blockquote class="quote"><a href="https://example.com/" {LINK}>'
        "https://example.com/</a></blockquote>"
    )


def test_text_starting_deep_quote_closes_all_levels() -> None:
    assert inner(render_plain_text(">>> deep")) == (
        '<blockquote class="quote"><blockquote class="quote"><blockquote class="quote">'
        "deep</blockquote></blockquote></blockquote>"
    )


def test_quote_depth_is_capped() -> None:
    from webmail.sanitize.text import MAX_QUOTE_DEPTH

    html = render_plain_text(">" * 100_000 + " deep\n" + ">" * 20 + " less deep\n> one\nnone")
    assert html.count("<blockquote") == MAX_QUOTE_DEPTH == html.count("</blockquote>")
    closing = "</blockquote>" * (MAX_QUOTE_DEPTH - 1)
    assert inner(html).endswith("deep\nless deep" + closing + "one</blockquote>none")


# ----------------------------------------------------------------------- format=flowed


def test_flowed_soft_breaks_are_joined() -> None:
    text = "This is a long \nparagraph that \nflows.\nNew line.\n"
    assert inner(render_plain_text(text, flowed=True)) == ("This is a long paragraph that flows.\nNew line.")


def test_without_flowed_soft_breaks_stay() -> None:
    text = "This is a long \nparagraph.\n"
    assert inner(render_plain_text(text)) == "This is a long \nparagraph."


def test_flowed_delsp_removes_the_soft_break_space() -> None:
    text = "abc \ndef\n"
    assert inner(render_plain_text(text, flowed=True, delsp=True)) == "abcdef"
    assert inner(render_plain_text(text, flowed=True, delsp=False)) == "abc def"


def test_flowed_space_stuffing_is_removed() -> None:
    text = " >not a quote\n  indented\n From me\n"
    assert inner(render_plain_text(text, flowed=True)) == "&gt;not a quote\n indented\nFrom me"


def test_flowed_quotes_are_joined_per_depth() -> None:
    text = "> quoted \n> text\n>> deeper \n>> still\nmine\n"
    assert inner(render_plain_text(text, flowed=True)) == (
        '<blockquote class="quote">quoted text<blockquote class="quote">deeper still'
        "</blockquote></blockquote>mine"
    )


def test_flowed_quote_depth_change_ends_a_paragraph() -> None:
    text = "> quoted \nnot joined\n"
    assert inner(render_plain_text(text, flowed=True)) == (
        '<blockquote class="quote">quoted </blockquote>not joined'
    )


def test_flowed_signature_separator_is_kept_and_not_joined() -> None:
    text = "Bye \n-- \nAlice\n"
    assert inner(render_plain_text(text, flowed=True)) == "Bye \n-- \nAlice"


def test_flowed_quotes_need_no_space_between_markers() -> None:
    assert inner(render_plain_text(">> two", flowed=True)) == (
        '<blockquote class="quote"><blockquote class="quote">two</blockquote></blockquote>'
    )
