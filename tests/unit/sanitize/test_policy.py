"""Invariants of the policy: what a reviewer must never see added by accident."""

from __future__ import annotations

import pytest

from webmail.sanitize import policy

# Elements that execute, load, embed, submit, or change how the parser reads what
# follows (raw text, RCDATA, foreign content). None may ever be allowed.
DANGEROUS_ELEMENTS = frozenset(
    {
        "applet", "audio", "base", "button", "embed", "form", "frame", "frameset",
        "iframe", "input", "link", "math", "meta", "noembed", "noframes", "noscript",
        "object", "plaintext", "portal", "script", "select", "source", "style", "svg",
        "template", "textarea", "title", "video", "xmp", "listing", "image", "area",
        "map", "picture", "track", "param", "canvas", "dialog", "details", "slot",
    }
)  # fmt: skip

# Attributes whose value is a URL (or a list of them) in some browser.
URL_ATTRIBUTES = frozenset(
    {
        "action", "archive", "background", "cite", "classid", "codebase", "data",
        "dynsrc", "formaction", "href", "icon", "longdesc", "lowsrc", "manifest",
        "ping", "poster", "profile", "src", "srcset", "usemap", "xlink:href", "xmlns",
    }
)  # fmt: skip

REQUIRED_MAIL_TAGS = frozenset(
    "p div span br hr a b strong i em u s strike sub sup small big font center "
    "blockquote pre code tt h1 h2 h3 h4 h5 h6 ul ol li dl dt dd table thead tbody "
    "tfoot tr td th caption colgroup col img abbr address cite q del ins mark figure "
    "figcaption article section header footer main nav wbr".split()
)


def all_attribute_names() -> set[str]:
    names = set(policy.GLOBAL_ATTRIBUTES)
    for attributes in policy.TAG_ATTRIBUTES.values():
        names |= attributes
    return names


def test_common_mail_formatting_is_allowed() -> None:
    assert REQUIRED_MAIL_TAGS <= policy.ALLOWED_TAGS


def test_no_dangerous_element_is_allowed() -> None:
    assert not (policy.ALLOWED_TAGS & DANGEROUS_ELEMENTS)


def test_allowed_and_dropped_elements_do_not_overlap() -> None:
    assert not (policy.ALLOWED_TAGS & policy.DROP_WITH_CONTENT)


@pytest.mark.parametrize(
    "tag",
    ["script", "style", "title", "head", "noscript", "template", "iframe", "object",
     "embed", "svg", "math", "textarea", "noembed", "noframes", "select"],
)  # fmt: skip
def test_code_and_raw_text_elements_are_dropped_with_their_content(tag: str) -> None:
    assert tag in policy.DROP_WITH_CONTENT


def test_void_tags_are_allowed_tags() -> None:
    assert policy.VOID_TAGS <= policy.ALLOWED_TAGS


def test_attribute_map_only_names_allowed_tags() -> None:
    assert set(policy.TAG_ATTRIBUTES) <= policy.ALLOWED_TAGS
    assert set(policy.FORCED_ATTRIBUTES) <= policy.ALLOWED_TAGS


def test_no_event_handler_attribute() -> None:
    assert not [name for name in all_attribute_names() if name.startswith("on")]


def test_only_a_href_and_img_src_carry_urls() -> None:
    url_attributes = {
        (tag, name)
        for tag in policy.ALLOWED_TAGS
        for name in policy.allowed_attributes(tag)
        if name in URL_ATTRIBUTES
    }
    assert url_attributes == {("a", "href"), ("img", "src")}


def test_no_clobbering_or_target_attribute_from_the_mail() -> None:
    assert not ({"name", "target", "rel", "form", "srcdoc"} & all_attribute_names())


def test_forced_link_attributes() -> None:
    assert dict(policy.FORCED_ATTRIBUTES["a"]) == {
        "target": "_blank",
        "rel": "noopener noreferrer",
    }


def test_container_class_cannot_be_produced_by_prefixing() -> None:
    assert not policy.CONTAINER_CLASS.startswith(policy.NAME_PREFIX)
    assert policy.NAME_PREFIX


def test_link_schemes() -> None:
    assert policy.LINK_SCHEMES == {"http", "https", "mailto"}
    assert policy.REMOTE_SCHEMES == {"http", "https"}
    # "data" reaches the final pass only for our own inline cid images (INLINE_IMAGE_DATA_RE).
    assert policy.VERIFY_PROTOCOLS == policy.LINK_SCHEMES | {"data"}
    assert not ({"javascript", "vbscript", "file"} & policy.VERIFY_PROTOCOLS)


@pytest.mark.parametrize(
    "prop",
    ["position", "z-index", "top", "left", "behavior", "-moz-binding", "content",
     "cursor", "list-style-image", "border-image", "mask", "filter", "clip-path",
     "transform", "animation", "transition", "unicode-bidi", "pointer-events"],
)  # fmt: skip
def test_dangerous_css_properties_are_not_allowed(prop: str) -> None:
    assert prop not in policy.ALLOWED_CSS_PROPERTIES


def test_css_properties_are_plain_lowercase_names() -> None:
    for prop in policy.ALLOWED_CSS_PROPERTIES:
        assert prop == prop.lower()
        assert not prop.startswith("-")
        assert set(prop) <= set("abcdefghijklmnopqrstuvwxyz-")


def test_css_functions_are_color_functions_only() -> None:
    assert policy.CSS_FUNCTIONS == {"rgb", "rgba", "hsl", "hsla"}


def test_display_cannot_escape_the_flow() -> None:
    values = policy.CSS_KEYWORD_PROPERTIES["display"]
    assert "contents" not in values
    assert {"block", "inline", "none", "table-cell"} <= values


def test_only_media_at_rules_are_kept() -> None:
    assert policy.CSS_AT_RULES == {"media"}
    assert "visited" not in policy.CSS_PSEUDO_CLASSES


def test_limits_allow_real_mail() -> None:
    assert 100 <= policy.MAX_NESTING_DEPTH <= 1_000
    assert policy.MAX_ELEMENTS >= 50_000
