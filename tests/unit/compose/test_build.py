from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from webmail.compose.build import Attachment, Draft, InvalidMessage, build_message, recipients, without_bcc


def draft(**kwargs: object) -> Draft:
    base: dict[str, object] = {"sender": "Zoë Müller <zoe@example.test>", "to": "bob@example.test"}
    base.update(kwargs)
    return Draft(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["to", "cc", "bcc", "subject", "sender"])
def test_header_injection_is_refused(field: str) -> None:
    value = "bob@example.test\r\nBcc: victim@example.test" if field != "subject" else "Hi\r\nBcc: x@y.test"
    with pytest.raises(InvalidMessage):
        build_message(draft(**{field: value}), message_id_domain="example.test")


@pytest.mark.parametrize("bad", ["bob", "bob@", "@example.test", "bob@localhost", "bo b@example.test"])
def test_invalid_addresses_are_named(bad: str) -> None:
    with pytest.raises(InvalidMessage) as info:
        build_message(draft(to=f"ok@example.test, {bad}"), message_id_domain="example.test")
    assert "is not a valid email address" in str(info.value)


def test_non_ascii_roundtrip_and_structure() -> None:
    msg = build_message(
        draft(
            to="Łukasz Nowak <lukasz@example.test>, carol@example.test",
            cc="Дмитрий <dmitry@example.test>",
            bcc="hidden@example.test",
            subject="Réunion à 14h — ordre du jour",
            text="Bonjour,\nvoici l'ordre du jour.",
            html="<p>Bonjour, <b>voici</b> l'ordre du jour.</p>",
            attachments=(Attachment("Отчёт.pdf", "application/pdf", b"%PDF-1.4 tiny"),),
            in_reply_to="<orig@example.test>",
            references=("<root@example.test>", "<orig@example.test>"),
        ),
        message_id_domain="example.test",
    )
    raw = bytes(msg)
    assert all(b < 128 for b in raw.replace(b"\r\n", b""))  # 7-bit clean on the wire
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == "Réunion à 14h — ordre du jour"
    assert parsed["From"].addresses[0].display_name == "Zoë Müller"
    assert parsed["To"].addresses[0].display_name == "Łukasz Nowak"
    assert parsed["In-Reply-To"] == "<orig@example.test>"
    assert parsed.get_content_type() == "multipart/mixed"
    body = parsed.get_body(("html",))
    assert body is not None and "<b>voici</b>" in body.get_content()
    plain = parsed.get_body(("plain",))
    assert plain is not None and "voici l'ordre" in plain.get_content()
    (attachment,) = list(parsed.iter_attachments())
    assert attachment.get_filename() == "Отчёт.pdf"
    assert attachment.get_content() == b"%PDF-1.4 tiny"
    assert recipients(msg) == [
        "lukasz@example.test",
        "carol@example.test",
        "dmitry@example.test",
        "hidden@example.test",
    ]
    wire = without_bcc(msg)
    assert b"hidden@example.test" not in wire and b"Bcc" not in wire
    assert b"hidden@example.test" in raw  # the Sent copy keeps it


def test_quoted_commas_and_semicolons() -> None:
    msg = build_message(
        draft(to='"Doe, John" <john@example.test>; ann@example.test'), message_id_domain="example.test"
    )
    assert recipients(msg) == ["john@example.test", "ann@example.test"]


def test_a_long_folded_bcc_never_reaches_the_wire() -> None:
    hidden = ", ".join(f"Hidden Person {i} <hidden{i}@example.test>" for i in range(60))
    msg = build_message(draft(bcc=hidden, cc="carol@example.test"), message_id_domain="example.test")
    raw = bytes(msg)
    assert raw.count(b"\r\n hidden") + raw.count(b"\r\n Hidden") > 5  # folded over many lines
    wire = without_bcc(raw)
    assert b"hidden" not in wire.lower() and wire == without_bcc(msg)
    parsed = message_from_bytes(wire, policy=policy.default)
    assert parsed["Cc"] == "carol@example.test" and parsed["To"] == "bob@example.test"
    assert wire.split(b"\r\n\r\n", 1)[1] == raw.split(b"\r\n\r\n", 1)[1]
