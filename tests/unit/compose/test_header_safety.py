"""Header-unsafe characters from any source are neutralised where headers are built; never a crash."""

from __future__ import annotations

import re
import time
from email import message_from_bytes, policy

import pytest

from webmail.compose.build import (
    MAX_RECIPIENTS,
    Attachment,
    Draft,
    InvalidMessage,
    build_message,
    header_safe,
    parse_addresses,
    recipients,
)

# Every class the issue names: line and paragraph separators, NEL, VT, FF, other C0 and C1 controls.
UNSAFE = {
    "line-separator": "\u2028",
    "paragraph-separator": "\u2029",
    "next-line": "\x85",
    "vertical-tab": "\x0b",
    "form-feed": "\x0c",
    "escape": "\x1b",
    "nul": "\x00",
    "delete": "\x7f",
    "c1-csi": "\x9b",
}
# What a header line may hold on the wire: printable ASCII, space and tab (folding).
_WIRE_HEADER = re.compile(rb"[\x20-\x7e\t]*")


def _headers(raw: bytes) -> list[bytes]:
    return raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


def _build(**fields: object) -> bytes:
    base: dict[str, object] = {"sender": "Zoë <zoe@example.test>", "to": "bob@example.test"}
    base.update(fields)
    return bytes(build_message(Draft(**base), message_id_domain="example.test"))  # type: ignore[arg-type]


@pytest.mark.parametrize("char", UNSAFE.values(), ids=UNSAFE.keys())
def test_every_header_source_is_neutralised(char: str) -> None:
    raw = _build(
        sender=f"Zo{char}ë <zoe@example.test>",
        to=f"Bo{char}b <bob@example.test>",
        cc=f"Ann{char}e <ann@example.test>",
        bcc=f"Hid{char}den <hidden@example.test>",
        subject=f"Re: one{char}two",
        in_reply_to=f"<orig{char}@example.test>",
        references=(f"<root@example.test>{char}<orig@example.test>",),
        extra_headers={"Reply-To": f"Zo{char}ë <zoe@example.test>"},
        attachments=(Attachment(f"re{char}port.txt", "text/plain", b"x"),),
    )
    assert all(_WIRE_HEADER.fullmatch(line) for line in _headers(raw))
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == "Re: one two"
    assert parsed["From"].addresses[0].display_name == "Zo ë"
    assert [a.display_name for a in parsed["To"].addresses] == ["Bo b"]
    assert [a.display_name for a in parsed["Cc"].addresses] == ["Ann e"]
    assert parsed["References"] == "<root@example.test> <orig@example.test>"
    assert parsed["In-Reply-To"] is None  # "<orig @example.test>" is no message id
    (attachment,) = parsed.iter_attachments()
    assert attachment.get_filename() == "re port.txt"
    for name in ("Subject", "From", "To", "Cc", "Bcc", "Reply-To"):
        assert header_safe(str(parsed[name])) == str(parsed[name])


def test_encoded_words_cannot_smuggle_a_line_break() -> None:
    """The email package decodes =?..?= in a typed subject; a decoded CR LF must not start a header."""
    raw = _build(subject="=?utf-8?q?Hi=0D=0ABcc:_victim@example.test?=")
    lines = _headers(raw)
    assert not any(line.lower().startswith(b"bcc:") for line in lines)
    assert message_from_bytes(raw, policy=policy.default)["Subject"] == "Hi Bcc: victim@example.test"
    nested = _build(subject="=?utf-8?q?=3D=3Futf-8=3Fq=3F=3D0A=3F=3D?=")  # decodes to another encoded word
    assert all(_WIRE_HEADER.fullmatch(line) for line in _headers(nested))
    assert "\n" not in str(message_from_bytes(nested, policy=policy.default)["Subject"])


@pytest.mark.parametrize("field", ["to", "cc", "bcc", "subject", "sender"])
def test_typed_line_breaks_are_still_refused(field: str) -> None:
    value = "bob@example.test\r\nBcc: victim@example.test" if field != "subject" else "Hi\r\nBcc: x@y.test"
    with pytest.raises(InvalidMessage, match="Line breaks are not allowed"):
        _build(**{field: value})


def test_a_browser_content_type_cannot_inject_into_the_header() -> None:
    raw = _build(attachments=(Attachment("a.bin", 'text/plain; name="x"\u2028y', b"data"),))
    (attachment,) = message_from_bytes(raw, policy=policy.default).iter_attachments()
    assert attachment.get_content_type() == "application/octet-stream"


def test_too_many_recipients_are_refused_before_parsing() -> None:
    to = ", ".join(f"p{i}@example.test" for i in range(MAX_RECIPIENTS // 2 + 1))
    with pytest.raises(InvalidMessage, match=f"at most {MAX_RECIPIENTS} recipients"):
        _build(to=to, cc=to)
    assert len(recipients(build_message(Draft(sender="z@example.test", to=to), message_id_domain="x.test")))


@pytest.mark.parametrize(
    "hostile",
    [
        "(" * 5000,  # recursed past Python's limit in the stdlib parser: a 500
        '"' * 30_000,
        ("(" * 300 + ",") * 100,
        ('"' * 319 + ",") * 100,
        ("a." * 159 + "@x.test,") * 99,
        "x" * 40_000,
    ],
    ids=["deep-comment", "quotes", "many-comments", "many-quotes", "dotted", "one-huge"],
)
def test_hostile_address_fields_cost_little_and_are_explained(hostile: str) -> None:
    start = time.process_time()
    with pytest.raises(InvalidMessage):
        _build(to=hostile, cc=hostile[:10_000], bcc=hostile[:10_000])
    assert time.process_time() - start < 1.0


def test_a_deep_comment_is_an_invalid_address_not_a_crash() -> None:
    with pytest.raises(InvalidMessage, match="too long"):
        parse_addresses("(" * 5000, field_name="To")
    with pytest.raises(InvalidMessage, match="not a valid email address"):
        parse_addresses("(" * 300, field_name="To")


def test_error_messages_quote_a_short_excerpt() -> None:
    with pytest.raises(InvalidMessage) as info:
        parse_addresses("y" * 300, field_name="To")
    assert len(str(info.value)) < 200
