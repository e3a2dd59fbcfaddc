"""CSS of a mail, rebuilt from tinycss2 tokens under `policy`.

Nothing of the input is copied through as text: every declaration, value, selector
and at-rule is parsed with tinycss2, checked against the allowlists of `policy`, and
written back by the serializers below. They escape every character that means
something to HTML (``& < > " '``), so the result can sit in a ``style`` attribute or a
``<style>`` element without ever closing it.

A sanitizer that only filters property *names* keeps
``background-image: url(javascript:...)`` as long as the property is allowed. Values
are therefore checked here; pass 2 then checks the names again (see
`html._written_value_verified`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence

import tinycss2
from tinycss2 import ast

from . import policy

#: Maps a URL written in the CSS to the URL to emit, or None to remove it. The caller
#: (`html.py`) applies the URL policy and counts blocked remote resources.
UrlResolver = Callable[[str], str | None]

# Characters written as hex escapes wherever they appear: HTML-significant ones, the
# CSS string/escape delimiters and control characters.
_ALWAYS_ESCAPED = frozenset("&<>\"'\\") | {chr(c) for c in range(0x20)} | {"\x7f"}


class _Rejected(Exception):
    """The declaration or rule contains something outside the policy."""


# ------------------------------------------------------------------------ serializers


def _hex(char: str) -> str:
    # The trailing space ends the escape; CSS consumes it.
    return f"\\{ord(char):x} "


def _escape_name(value: str, *, identifier: bool) -> str:
    """Serialize an identifier (or, with identifier=False, a hash name)."""
    out: list[str] = []
    for index, char in enumerate(value):
        plain = (char.isascii() and (char.isalnum() or char in "-_")) or (
            not char.isascii() and char not in _ALWAYS_ESCAPED
        )
        starts_badly = identifier and (
            (index == 0 and char.isdigit()) or (index == 1 and char.isdigit() and value[0] == "-")
        )
        out.append(char if plain and not starts_badly else _hex(char))
    return "".join(out)


def _ident(value: str) -> str:
    if not value or value == "-":
        raise _Rejected
    return _escape_name(value, identifier=True)


def _string(value: str) -> str:
    return "'" + "".join(_hex(c) if c in _ALWAYS_ESCAPED else c for c in value) + "'"


def _url(value: str) -> str:
    return f"url({_string(value)})"


def _numeric(token: ast.NumberToken | ast.PercentageToken | ast.DimensionToken) -> str:
    text = token.representation
    if isinstance(token, ast.PercentageToken):
        return text + "%"
    if isinstance(token, ast.DimensionToken):
        unit = _ident(token.unit)
        # "1" + "e3" would read back as the number 1e3.
        if unit[0] in "eE":
            unit = _hex(unit[0]) + unit[1:]
        return text + unit
    return text


# ----------------------------------------------------------------------------- values


def _url_argument(token: ast.FunctionBlock) -> str:
    args = [t for t in token.arguments if t.type not in ("whitespace", "comment")]
    if len(args) != 1 or not isinstance(args[0], ast.StringToken):
        raise _Rejected
    return args[0].value


def _value(tokens: Iterable[ast.Node], resolve_url: UrlResolver) -> str:
    """Serialize an allowed value; raise `_Rejected` for anything outside the policy.

    A `url()` that the resolver refuses is left out of the value (so a `background`
    shorthand keeps its color), never passed through.
    """
    out: list[str] = []
    for token in tokens:
        if isinstance(token, ast.WhitespaceToken | ast.Comment):
            if out and out[-1] != " ":
                out.append(" ")
        elif isinstance(token, ast.IdentToken):
            out.append(_ident(token.value))
        elif isinstance(token, ast.NumberToken | ast.PercentageToken | ast.DimensionToken):
            out.append(_numeric(token))
        elif isinstance(token, ast.StringToken):
            out.append(_string(token.value))
        elif isinstance(token, ast.HashToken):
            out.append("#" + _escape_name(token.value, identifier=False))
        elif isinstance(token, ast.LiteralToken) and token.value in (",", "/"):
            out.append(token.value)
        elif isinstance(token, ast.URLToken):
            resolved = resolve_url(token.value)
            if resolved is not None:
                out.append(_url(resolved))
        elif isinstance(token, ast.FunctionBlock) and token.lower_name == "url":
            resolved = resolve_url(_url_argument(token))
            if resolved is not None:
                out.append(_url(resolved))
        elif isinstance(token, ast.FunctionBlock) and token.lower_name in policy.CSS_FUNCTIONS:
            out.append(f"{token.lower_name}({_value(token.arguments, resolve_url)})")
        else:
            # Other functions (expression, var, attr, image-set, ...), blocks, `;`,
            # `:`, `!`, at-keywords, bad strings/urls: none belong in a mail value.
            raise _Rejected
    if out and out[-1] == " ":
        out.pop()
    return "".join(out)


def _declaration(token: ast.Node, resolve_url: UrlResolver) -> str | None:
    if not isinstance(token, ast.Declaration):
        return None
    name = token.lower_name
    if name not in policy.ALLOWED_CSS_PROPERTIES:
        return None
    try:
        value = _value(token.value, resolve_url)
    except _Rejected:
        return None
    if not value:
        return None
    keywords = policy.CSS_KEYWORD_PROPERTIES.get(name)
    if keywords is not None and value.lower() not in keywords:
        return None
    important = " !important" if token.important else ""
    return f"{name}: {value}{important}"


def _declarations(tokens: str | Sequence[ast.Node], resolve_url: UrlResolver) -> str:
    parsed = tinycss2.parse_declaration_list(tokens, skip_comments=True, skip_whitespace=True)
    kept = (_declaration(token, resolve_url) for token in parsed)
    return "; ".join(d for d in kept if d)


def sanitize_declarations(style: str, *, resolve_url: UrlResolver) -> str:
    """Sanitize the value of a ``style`` attribute. Returns "" if nothing is left."""
    if _without_urls(style, _CACHED_STYLE_LENGTH):
        # Mail repeats the same inline styles (CSS inliners, templates), in one message
        # and across messages: each is rebuilt once per process.
        return _declarations_without_urls(style)
    return _declarations(style, resolve_url)


def _without_urls(css: str, limit: int) -> bool:
    """Whether no `url()` can be read from `css` (which is not too long to cache).

    Only an escape could spell one without the letters. `resolve_url` would then never
    be asked, and the sanitized text depends on `css` alone: it may be cached.
    """
    return len(css) <= limit and "\\" not in css and "url" not in css.lower()


_CACHED_STYLE_LENGTH = 1024  # 4,096 of them: at most 4 MB of keys


@functools.lru_cache(maxsize=4096)
def _declarations_without_urls(style: str) -> str:
    return _declarations(style, _no_url)


def _no_url(url: str) -> None:
    """The resolver for text with no `url()`: were one ever read, it is left out."""
    return None


# -------------------------------------------------------------------------- selectors


def _split(tokens: Sequence[ast.Node], separator: str) -> list[list[ast.Node]]:
    groups: list[list[ast.Node]] = [[]]
    for token in tokens:
        if isinstance(token, ast.LiteralToken) and token.value == separator:
            groups.append([])
        else:
            groups[-1].append(token)
    return groups


class _Compound:
    """One compound selector: an optional type (or `*`) and simple selectors."""

    def __init__(self) -> None:
        self.type: str | None = None
        self.rest: list[str] = []
        self.is_root = False

    def empty(self) -> bool:
        return self.type is None and not self.rest and not self.is_root


def _compounds(tokens: Sequence[ast.Node]) -> tuple[list[_Compound], list[str]]:
    """Parse a complex selector into compounds and the combinators between them."""
    compounds = [_Compound()]
    combinators: list[str] = []
    pending_space = False
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        current = compounds[-1]
        if isinstance(token, ast.WhitespaceToken | ast.Comment):
            pending_space = not current.empty()
            continue
        if isinstance(token, ast.LiteralToken) and token.value in (">", "+", "~"):
            if current.empty():
                raise _Rejected
            combinators.append(f" {token.value} ")
            compounds.append(_Compound())
            pending_space = False
            continue
        if pending_space:
            combinators.append(" ")
            compounds.append(_Compound())
            current = compounds[-1]
            pending_space = False
        if isinstance(token, ast.IdentToken) or (isinstance(token, ast.LiteralToken) and token.value == "*"):
            if not current.empty():
                raise _Rejected
            name = "*" if isinstance(token, ast.LiteralToken) else token.lower_value
            if name in policy.CSS_ROOT_SELECTORS:
                current.is_root = True
            elif name == "*" or (name.isascii() and name.isalnum() and name[0].isalpha()):
                current.type = name
            else:
                raise _Rejected
        elif isinstance(token, ast.HashToken):
            current.rest.append("#" + _ident(policy.NAME_PREFIX + token.value))
        elif isinstance(token, ast.LiteralToken) and token.value in (".", ":"):
            following = tokens[index] if index < len(tokens) else None
            if not isinstance(following, ast.IdentToken):
                raise _Rejected  # `::pseudo-element`, `:not(...)`, a lone `.`
            index += 1
            if token.value == ".":
                current.rest.append("." + _ident(policy.NAME_PREFIX + following.value))
            elif following.lower_value == "root":
                current.is_root = True
            elif following.lower_value in policy.CSS_PSEUDO_CLASSES:
                current.rest.append(":" + following.lower_value)
            else:
                raise _Rejected
        else:
            raise _Rejected  # attribute selectors, functions, namespaces, ...
    if compounds[-1].empty():
        raise _Rejected
    return compounds, combinators


def _scoped_selector(tokens: Sequence[ast.Node]) -> str:
    """Rewrite one complex selector so that it only matches inside the container.

    Leading `html`, `body` and `:root` compounds become the container itself; class
    and id names get `policy.NAME_PREFIX`, like the mail's `class` and `id` did.
    """
    compounds, combinators = _compounds(tokens)
    root_rest: list[str] = []
    leading_roots = 0
    while leading_roots < len(compounds) and compounds[leading_roots].is_root:
        compound = compounds[leading_roots]
        if compound.type is not None:
            raise _Rejected  # `p:root`
        root_rest.extend(compound.rest)
        leading_roots += 1
    if any(c.is_root for c in compounds[leading_roots:]):
        raise _Rejected  # `div body` never matches anything
    container = "." + policy.CONTAINER_CLASS + "".join(root_rest)
    parts = [container]
    if leading_roots:
        remaining = compounds[leading_roots:]
        remaining_combinators = combinators[leading_roots:]
        if remaining:
            parts.append(combinators[leading_roots - 1])
    else:
        remaining = compounds
        remaining_combinators = combinators
        parts.append(" ")
    for position, compound in enumerate(remaining):
        if position:
            parts.append(remaining_combinators[position - 1])
        parts.append((compound.type or "") + "".join(compound.rest))
    return "".join(parts)


def _selector_list(prelude: Sequence[ast.Node]) -> str | None:
    selectors: list[str] = []
    for group in _split(prelude, ","):
        try:
            selectors.append(_scoped_selector(group))
        except _Rejected:
            continue
    return ", ".join(selectors) or None


def _media_prelude(prelude: Sequence[ast.Node]) -> str | None:
    out: list[str] = []
    for token in prelude:
        if isinstance(token, ast.WhitespaceToken | ast.Comment):
            out.append(" ")
        elif isinstance(token, ast.IdentToken):
            if not policy.CSS_MEDIA_FEATURE_RE.match(token.lower_value):
                return None
            out.append(token.lower_value)
        elif isinstance(token, ast.LiteralToken) and token.value in (",", ":"):
            out.append(token.value)
        elif isinstance(token, ast.ParenthesesBlock):
            inner = _media_prelude(token.content)
            if inner is None:
                return None
            out.append(f"({inner})")
        elif isinstance(token, ast.NumberToken | ast.PercentageToken | ast.DimensionToken):
            try:
                out.append(_numeric(token))
            except _Rejected:
                return None
        else:
            return None
    return " ".join("".join(out).split()) or None


# ------------------------------------------------------------------------ style sheets


def _rules(rules: Iterable[ast.Node], resolve_url: UrlResolver, *, nested: bool) -> list[str]:
    out: list[str] = []
    for rule in rules:
        if isinstance(rule, ast.QualifiedRule):
            selectors = _selector_list(rule.prelude)
            if selectors is None:
                continue
            declarations = _declarations(rule.content, resolve_url)
            if declarations:
                out.append(f"{selectors} {{ {declarations} }}")
        elif (
            isinstance(rule, ast.AtRule)
            and rule.lower_at_keyword in policy.CSS_AT_RULES
            and rule.content is not None
            and not nested
        ):
            media = _media_prelude(rule.prelude)
            if media is None:
                continue
            inner_rules = tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True)
            inner = _rules(inner_rules, resolve_url, nested=True)
            if inner:
                out.append(f"@media {media} {{ {' '.join(inner)} }}")
        # Everything else (@import, @font-face, @namespace, nested @media, parse
        # errors) is dropped.
    return out


def sanitize_stylesheet(css: str, *, resolve_url: UrlResolver) -> str:
    """Sanitize the text of a ``<style>`` element, scoping it under the container.

    The result never contains ``<``, so it cannot close the ``<style>`` element it
    is put in.
    """
    if _without_urls(css, _CACHED_SHEET_LENGTH):
        # A sender's newsletters carry the same style sheet: rebuilt once per process.
        return _stylesheet_without_urls(css)
    return _stylesheet(css, resolve_url)


_CACHED_SHEET_LENGTH = 32 * 1024  # 128 of them: at most 4 MB of keys


@functools.lru_cache(maxsize=128)
def _stylesheet_without_urls(css: str) -> str:
    return _stylesheet(css, _no_url)


def _stylesheet(css: str, resolve_url: UrlResolver) -> str:
    parsed = tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True)
    sheet = "\n".join(_rules(parsed, resolve_url, nested=False))
    if "<" in sheet:  # unreachable by construction; refuse rather than trust it
        return ""
    return sheet
