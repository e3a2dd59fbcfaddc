"""What a list row shows, from the capped header sections a row fetches."""

from __future__ import annotations

import pytest

from webmail.mailaccess.rows import HEAD_CAP, RECIPIENTS_CAP, _addresses, summarize
from webmail.messages.decode import decode_address_list

HEAD = b"BODY[HEADER.FIELDS (DATE FROM SUBJECT)]<0>"
RCPT = b"BODY[HEADER.FIELDS (TO CC BCC)]<0>"


@pytest.mark.parametrize(
    "value",
    [
        "Sender 0001 <s1@example.test>",
        "a@b.test, c@d.test",
        "=?utf-8?q?Z=C3=B6e?= <z@x.test>",
        '"Doe, John" <j@x.test>',
        "Bob Smith\r\n <bob@x.test>",
        "undisclosed-recipients:;",
        "<@example.test>",
        "Name only",
        "x@y.test (comment)",
        "Ann <a@b.test>,",
        "Zoë <z@x.test>",
    ],
)
def test_the_quick_address_reader_agrees_with_the_full_parser(value: str) -> None:
    assert _addresses(value) == decode_address_list(value)


def test_display_values_for_a_message_without_any_header() -> None:
    m = summarize(7, {HEAD: b"\r\n", RCPT: b"\r\n", b"FLAGS": ()})
    assert (m.sender_label, m.recipients_label, m.subject_label) == (
        "(unknown sender)",
        "(no recipient)",
        "(no subject)",
    )
    assert m.sender_title == "" and m.recipients_title == "" and m.date is None


def test_recipients_count_to_cc_and_bcc_and_show_the_first_three() -> None:
    rcpt = b"To: Ann <a@x.test>\r\nCc: b@x.test, c@x.test\r\nBcc: Dee <d@x.test>\r\n\r\n"
    m = summarize(1, {HEAD: b"From: Me <me@x.test>\r\n\r\n", RCPT: rcpt})
    assert m.recipients_label == "Ann, b@x.test, c@x.test +1"
    assert m.recipients_title == "a@x.test, b@x.test, c@x.test"
    only_bcc = summarize(2, {HEAD: b"", RCPT: b"Bcc: hidden@x.test\r\n\r\n"})
    assert only_bcc.recipients_label == "hidden@x.test"


def test_a_header_cut_by_the_byte_cap_keeps_its_whole_lines() -> None:
    many = b"To: " + b",\r\n ".join(b"r%d@example.test" % i for i in range(200)) + b"\r\n"
    m = summarize(1, {HEAD: b"Subject: hi\r\n\r\n", RCPT: many[:RECIPIENTS_CAP]})
    assert m.recipients and all(a.email.endswith("@example.test") for a in m.recipients)
    long_subject = b"From: a@x.test\r\nSubject: " + b"S" * (2 * HEAD_CAP)
    cut = summarize(1, {HEAD: long_subject[:HEAD_CAP], RCPT: b""})
    assert cut.sender_label == "a@x.test" and cut.subject.startswith("SSS")
