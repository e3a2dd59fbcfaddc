"""build_part_tree on imapclient's shapes: sections, fields, and junk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from imapclient.response_parser import parse_fetch_response
from imapclient.response_types import BodyData

from webmail.messages.decode import Address
from webmail.messages.parts import Envelope, MimePart, build_part_tree, envelope_from_imap

from .bodystructure import bodystructure

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "eml"


def parse_wire(bodystructure_wire: bytes) -> Any:
    """A BODYSTRUCTURE (or BODY) string through imapclient's own parser."""
    return parse_fetch_response([b"1 (BODYSTRUCTURE " + bodystructure_wire + b")"])[1][b"BODYSTRUCTURE"]


def sections(tree: MimePart) -> list[tuple[str, str]]:
    return [(p.section, p.content_type) for p in tree.walk()]


# --------------------------------------------------------------------------
# Section numbering (RFC 3501 §6.4.5)


def test_rfc3501_section_numbering_table() -> None:
    """The example table of RFC 3501 §6.4.5, from a message of that shape."""
    tree = build_part_tree(bodystructure((CORPUS / "rfc3501_section_numbering.eml").read_bytes()))
    assert sections(tree) == [
        ("TEXT", "multipart/mixed"),
        ("1", "text/plain"),
        ("2", "application/octet-stream"),
        ("3", "message/rfc822"),
        ("3.TEXT", "multipart/mixed"),
        ("3.1", "text/plain"),
        ("3.2", "application/octet-stream"),
        ("4", "multipart/mixed"),
        ("4.1", "image/gif"),
        ("4.2", "message/rfc822"),
        ("4.2.TEXT", "multipart/mixed"),
        ("4.2.1", "text/plain"),
        ("4.2.2", "multipart/alternative"),
        ("4.2.2.1", "text/plain"),
        ("4.2.2.2", "text/richtext"),
    ]
    assert tree.find("4.1").mime_section == "4.1.MIME"  # type: ignore[union-attr]


def test_rfc3501_body_example() -> None:
    """The BODY example of RFC 3501 §7.4.2: no extension data at all."""
    tree = build_part_tree(
        parse_wire(
            b'(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)'
            b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") '
            b'"<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73)'
            b' "MIXED")'
        )
    )
    assert sections(tree) == [("TEXT", "multipart/mixed"), ("1", "text/plain"), ("2", "text/plain")]
    first, second = tree.children
    assert (first.size, first.lines, first.encoding, first.params) == (
        1152,
        23,
        "7bit",
        {"charset": "US-ASCII"},
    )
    assert second.filename == "cc.diff"
    assert second.content_id == "960723163407.20117h@cac.washington.edu"
    assert second.description == "Compiler diff"
    assert (second.encoding, second.size, second.lines) == ("base64", 4554, 73)
    assert second.disposition is None and second.language == () and second.location is None


def test_single_part_body_is_section_1() -> None:
    tree = build_part_tree(parse_wire(b'("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 10 1)'))
    assert isinstance(tree, MimePart)
    assert (tree.section, tree.content_type, tree.encoding) == ("1", "text/html", "quoted-printable")
    assert not tree.is_multipart and tree.children == ()


def test_message_rfc822_raw_tuple_body() -> None:
    """imapclient leaves the body inside message/rfc822 as a raw tuple whose
    children are its leading tuples (not a list as at the top level)."""
    parsed = parse_wire(
        b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 1 NIL NIL NIL NIL)'
        b'("message" "rfc822" NIL NIL NIL "7bit" 300 '
        b'("Mon, 1 Jul 2024 10:00:00 +0000" "=?utf-8?q?Caf=C3=A9?=" '
        b'(("Ann" NIL "ann" "example.com")) NIL NIL ((NIL NIL "bob" "example.net")) '
        b'NIL NIL NIL "<id@example.com>") '
        b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 3 1 NIL NIL NIL NIL)'
        b'("image" "png" NIL "<img1>" NIL "base64" 100 NIL ("inline" NIL) NIL NIL)'
        b' "related" ("boundary" "x") NIL NIL NIL) 12 NIL ("attachment" ("filename" "fwd.eml")) NIL NIL)'
        b' "mixed" ("boundary" "y") NIL NIL NIL)'
    )
    assert isinstance(parsed, BodyData) and isinstance(parsed[0], list)
    inner_body = parsed[0][1][8]
    assert type(inner_body) is tuple and isinstance(inner_body[0], tuple)  # the raw shape
    tree = build_part_tree(parsed)
    assert sections(tree) == [
        ("TEXT", "multipart/mixed"),
        ("1", "text/plain"),
        ("2", "message/rfc822"),
        ("2.TEXT", "multipart/related"),
        ("2.1", "text/plain"),
        ("2.2", "image/png"),
    ]
    message = tree.children[1]
    assert message.is_message and message.lines == 12 and message.size == 300
    assert message.disposition == "attachment" and message.filename == "fwd.eml"
    assert message.envelope == Envelope(
        subject="Café",
        from_=(Address("Ann", "ann@example.com"),),
        to=(Address("", "bob@example.net"),),
        date=message.envelope.date if message.envelope else None,
        message_id="<id@example.com>",
    )
    assert message.envelope is not None and message.envelope.date is not None
    assert message.envelope.date.isoformat() == "2024-07-01T10:00:00+00:00"
    assert message.body is message.children[0]
    assert tree.find("2.2").content_id == "img1"  # type: ignore[union-attr]


def test_message_rfc822_single_part_body_is_n_1() -> None:
    tree = build_part_tree(
        parse_wire(
            b'("message" "rfc822" NIL NIL NIL "7bit" 50 (NIL "s" NIL NIL NIL NIL NIL NIL NIL NIL)'
            b' ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 3 1) 4)'
        )
    )
    assert sections(tree) == [("1", "message/rfc822"), ("1.1", "text/plain")]


def test_message_rfc822_without_envelope_is_a_leaf() -> None:
    """Some servers send message/rfc822 in the basic form; it stays a leaf."""
    tree = build_part_tree(
        (
            [(b"message", b"rfc822", None, None, None, b"7bit", 1234, None, None, None, None)],
            b"mixed",
        )
    )
    message = tree.children[0]
    assert message.content_type == "message/rfc822"
    assert message.children == () and message.envelope is None and message.body is None


def test_dovecot_empty_multipart_placeholder() -> None:
    tree = build_part_tree(
        parse_wire(
            b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL)'
            b' "mixed" ("boundary" "b") NIL NIL NIL)'
        )
    )
    assert sections(tree) == [("TEXT", "multipart/mixed"), ("1", "text/plain")]


def test_multipart_extension_data() -> None:
    tree = build_part_tree(
        parse_wire(
            b'(("text" "plain" NIL NIL NIL "7bit" 1 1)("text" "html" NIL NIL NIL "7bit" 1 1)'
            b' "ALTERNATIVE" ("BOUNDARY" "b" "X-Foo" "Bar") ("inline" NIL) ("en" "fr")'
            b' "http://example.com/")'
        )
    )
    assert tree.content_type == "multipart/alternative"
    assert tree.params == {"boundary": "b", "x-foo": "Bar"}
    assert tree.disposition == "inline"
    assert tree.language == ("en", "fr")
    assert tree.location == "http://example.com/"


def test_single_part_extension_data() -> None:
    tree = build_part_tree(
        parse_wire(
            b'("APPLICATION" "PDF" ("NAME" "x.pdf") " <cid@x> " "=?utf-8?q?R=C3=A9sum=C3=A9?="'
            b' "Base64" 300 "md5==" ("ATTACHMENT" ("FILENAME" "report.pdf" "SIZE" "222"))'
            b' "de" "http://example.com/report.pdf")'
        )
    )
    assert tree.content_type == "application/pdf"
    assert tree.content_id == "cid@x"
    assert tree.description == "Résumé"
    assert (tree.encoding, tree.size, tree.lines) == ("base64", 300, None)
    assert tree.disposition == "attachment"
    assert tree.disposition_params == {"filename": "report.pdf", "size": "222"}
    assert tree.filename == "report.pdf"  # disposition's filename beats name
    assert tree.language == ("de",)
    assert tree.location == "http://example.com/report.pdf"


# --------------------------------------------------------------------------
# Filenames


@pytest.mark.parametrize(
    ("disposition_params", "params", "expected"),
    [
        # Dovecot's merged RFC 2231 form.
        ((b"filename*", b"utf-8''%D0%9E%D1%82%D1%87%D1%91%D1%82.pdf"), None, "Отчёт.pdf"),
        ((b"filename*", b"koi8-r'ru'%EF%D4%DE%A3%D4.pdf"), None, "Отчёт.pdf"),
        # Raw continuations, as other servers pass them through.
        (
            (b"filename*0*", b"koi8-r''%EF%D4", b"filename*1*", b"%DE%A3%D4.pdf"),
            None,
            "Отчёт.pdf",
        ),
        ((b"filename*1", b"file.txt", b"filename*0", b"long "), None, "long file.txt"),
        (
            (b"FILENAME*0*", b"UTF-8''%C3%A9t%C3%A9", b"FILENAME*1", b" 100%.txt"),
            None,
            "été 100%.txt",
        ),
        # filename* wins over filename.
        ((b"filename", b"fallback.txt", b"filename*", b"utf-8''%C3%A9.txt"), None, "é.txt"),
        # No charset given: sniffed.
        ((b"filename*", b"''%C3%A9.txt"), None, "é.txt"),
        ((b"filename*", b"utf-8''%ZZ.txt"), None, "%ZZ.txt"),
        # RFC 2047 in a quoted parameter (Outlook, Gmail).
        (None, (b"name", b"=?utf-8?B?w5xiZXJ3ZWlzdW5nLnhsc3g=?="), "Überweisung.xlsx"),
        (None, (b"name", b"=?koi8-r?B?79Teo9QucGRm?="), "Отчёт.pdf"),
        # Raw 8-bit bytes (sent as a literal).
        ((b"filename", "Отчёт.pdf".encode()), None, "Отчёт.pdf"),
        ((b"filename", "Отчёт.pdf".encode("koi8-r")), None, "Отчёт.pdf"),
        # Paths and control characters never survive.
        ((b"filename", b"C:\\Users\\me\\evil.exe"), None, "evil.exe"),
        ((b"filename", b"../../etc/passwd"), None, "passwd"),
        ((b"filename", b"a\r\nb\x00.txt"), None, "ab.txt"),
        ((b"filename", b"dir/"), None, None),
        ((b"filename", b""), None, None),
        (None, None, None),
    ],
)
def test_filename(
    disposition_params: tuple[bytes, ...] | None,
    params: tuple[bytes, ...] | None,
    expected: str | None,
) -> None:
    disposition = (b"attachment", disposition_params) if disposition_params else None
    tree = build_part_tree(
        (b"application", b"octet-stream", params, None, None, b"base64", 10, None, disposition)
    )
    assert tree.filename == expected


# --------------------------------------------------------------------------
# Odd values and junk


def test_str_values_and_missing_fields() -> None:
    tree = build_part_tree(("TEXT", "Plain", ("Charset", "UTF-8"), "<x@y>", None, None, "12", "3"))
    assert (tree.content_type, tree.charset, tree.content_id) == ("text/plain", "UTF-8", "x@y")
    assert (tree.encoding, tree.size, tree.lines) == ("7bit", 12, 3)
    assert tree.disposition is None and tree.filename is None


@pytest.mark.parametrize(
    ("node", "content_type"),
    [
        ((None, None, None, None, None, None, None), "text/plain"),
        ((b"text", None), "text/plain"),
        ((b"application", None), "application/octet-stream"),
        ((b"text/html", None), "text/html"),
        ((b'"image"', b" png "), "image/png"),
        ((b"multipart", b"mixed", None, None, None, b"7bit", 10), "text/plain"),
    ],
)
def test_odd_content_types(node: tuple[Any, ...], content_type: str) -> None:
    assert build_part_tree(node).content_type == content_type


def test_odd_parameter_lists() -> None:
    def params(value: Any) -> dict[str, str]:
        return build_part_tree((b"text", b"plain", value, None, None, b"7bit", 1, 1)).params

    assert params(None) == {}
    assert params((b"charset",)) == {}  # odd length
    assert params((b"charset", b"utf-8", b"dangling")) == {"charset": "utf-8"}
    assert params((b"a", (b"nested",), b"b", b"2")) == {"b": "2"}
    assert params((b"A", b"1", b"a", b"2")) == {"a": "1"}  # first one wins
    assert params(b"not a list") == {}


def test_bare_disposition_string() -> None:
    tree = build_part_tree((b"image", b"png", None, None, None, b"base64", 1, None, b"INLINE", None, None))
    assert tree.disposition == "inline"


@pytest.mark.parametrize(
    "junk",
    [None, 42, b"", "", (), [], ([],), (None,), ([None, 42],), ((),), b"garbage", object()],
)
def test_junk_never_raises(junk: Any) -> None:
    tree = build_part_tree(junk)
    assert isinstance(tree, MimePart)
    assert tree.section in ("1", "TEXT")


def test_one_broken_child_keeps_its_siblings() -> None:
    tree = build_part_tree(
        ([(b"text", b"plain", None, None, None, b"7bit", 5, 1), 42, (b"image", b"gif")], b"mixed")
    )
    assert sections(tree) == [
        ("TEXT", "multipart/mixed"),
        ("1", "text/plain"),
        ("2", "application/octet-stream"),
        ("3", "image/gif"),
    ]


def test_pathological_nesting_is_cut_off() -> None:
    node: Any = (b"text", b"plain", None, None, None, b"7bit", 1, 1)
    for _ in range(200):
        node = ([node], b"mixed")
    tree = build_part_tree(node)
    deepest = list(tree.walk())[-1]
    assert deepest.content_type == "application/octet-stream"
    assert len(list(tree.walk())) < 100


# --------------------------------------------------------------------------
# MimePart helpers and envelopes


def test_mimepart_helpers() -> None:
    tree = build_part_tree(bodystructure((CORPUS / "nested_rfc822_in_rfc822.eml").read_bytes()))
    assert tree.is_multipart and tree.maintype == "multipart" and tree.subtype == "mixed"
    assert [p.section for p in tree.leaves()] == ["1", "2.1", "2.2.1", "2.2.2"]
    assert tree.find("2.2.2") is not None and tree.find("9.9") is None
    assert tree.find("2").is_message  # type: ignore[union-attr]
    assert tree.mime_section is None
    hash(tree)  # frozen parts can key a cache


def test_envelope_from_imapclient_envelope() -> None:
    envelope = parse_fetch_response(
        [
            b'1 (ENVELOPE ("Tue, 14 May 2024 09:12:33 +0200" "=?koi8-r?B?8NLJ18XU?=" '
            b'(("Olga" NIL "olga" "example.ru")) NIL NIL ((NIL NIL "undisclosed-recipients" NIL)'
            b'(NIL NIL NIL NIL)) NIL NIL "<parent@x>" "<id@x>"))'
        ]
    )[1][b"ENVELOPE"]
    decoded = envelope_from_imap(envelope)
    assert decoded is not None
    assert decoded.subject == "Привет"
    assert decoded.from_ == (Address("Olga", "olga@example.ru"),)
    assert decoded.to == (Address("undisclosed-recipients", ""),)
    assert decoded.in_reply_to == "<parent@x>" and decoded.message_id == "<id@x>"
    assert decoded.date is not None and decoded.date.utcoffset() is not None


def test_envelope_from_junk() -> None:
    assert envelope_from_imap(None) is None
    assert envelope_from_imap(()) == Envelope()
    assert envelope_from_imap((b"not a date", None, 42)) == Envelope()
