"""The test helper must answer as an IMAP server would, or the other tests
prove nothing. Expected strings are worked out by hand from RFC 3501 §7.4.2
and Dovecot's documented habits."""

from __future__ import annotations

from imapclient.response_types import Address as ImapAddress
from imapclient.response_types import BodyData, Envelope

from webmail.messages.parts import build_part_tree

from .bodystructure import bodystructure_string, fetch, fetch_records, fetch_section

MESSAGE = b"""From: "Ann, A." <ann@example.com>
To: group: b@example.org;
Subject: =?utf-8?q?hi?=
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=XX

preamble
--XX
Content-Type: text/plain

hello
--XX
Content-Type: application/octet-stream; name*0*=utf-8''%C3%A9; name*1="100%.bin"
Content-Disposition: attachment; filename="r\\"q.bin"
Content-Transfer-Encoding: base64

AAEC
--XX--
"""


def test_bodystructure_wire_format() -> None:
    assert bodystructure_string(MESSAGE) == (
        # text part: default charset added, 7bit by default, size and lines
        b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0 NIL NIL NIL NIL)'
        # basic part: RFC 2231 continuations merged, "%" of a plain piece escaped
        b'("application" "octet-stream" ("name*" "utf-8\'\'%C3%A9100%25.bin") NIL NIL'
        b' "base64" 4 NIL ("attachment" ("filename" "r\\"q.bin")) NIL NIL)'
        # body-type-mpart: subtype, then params, disposition, language, location
        b' "mixed" ("boundary" "XX") NIL NIL NIL)'
    )


def test_fetch_gives_imapclient_types() -> None:
    data = fetch(MESSAGE)
    structure = data[b"BODYSTRUCTURE"]
    assert isinstance(structure, BodyData) and structure.is_multipart
    assert structure[0][0][:2] == (b"text", b"plain")
    envelope = data[b"ENVELOPE"]
    assert isinstance(envelope, Envelope)
    assert envelope.subject == b"=?utf-8?q?hi?="
    assert envelope.date is None
    # RFC 3501: sender and reply-to default to from.
    assert envelope.from_ == envelope.sender == envelope.reply_to
    assert envelope.from_ == (ImapAddress(b"Ann, A.", None, b"ann", b"example.com"),)
    # Group syntax: start (mailbox = name, host NIL), members, end (all NIL).
    assert envelope.to == (
        ImapAddress(None, None, b"group", None),
        ImapAddress(None, None, b"b", b"example.org"),
        ImapAddress(None, None, None, None),
    )
    assert envelope.cc is None


def test_eight_bit_strings_travel_as_literals() -> None:
    raw = 'Subject: Grüße\nContent-Type: text/plain; name="Отчёт.txt"\n\nx\n'.encode()
    records = fetch_records(raw)
    literals = [r[1] for r in records if isinstance(r, tuple)]
    assert "Grüße".encode() in literals and "Отчёт.txt".encode() in literals
    assert all(r[0].endswith(b"}") for r in records if isinstance(r, tuple))
    tree = build_part_tree(fetch(raw)[b"BODYSTRUCTURE"])
    assert tree.filename == "Отчёт.txt"


def test_fetch_section_follows_rfc3501_numbering() -> None:
    assert fetch_section(MESSAGE, "1") == b"hello"
    assert fetch_section(MESSAGE, "2") == b"AAEC"
    single = b"Subject: s\n\nline one\nline two\n"
    assert fetch_section(single, "1") == b"line one\r\nline two\r\n"


def test_builder_reads_the_helper_output() -> None:
    tree = build_part_tree(fetch(MESSAGE)[b"BODYSTRUCTURE"])
    attachment = tree.children[1]
    assert attachment.params == {"name": "é100%.bin"}
    assert attachment.filename == 'r"q.bin'
    assert (attachment.section, attachment.encoding, attachment.size) == ("2", "base64", 4)
