"""What imported messages keep: the date to show, the Message-ID, IMAP's CRLF form."""

from __future__ import annotations

from datetime import UTC, datetime

from webmail.mailaccess.append import header_block, message_date, message_id, normalise_crlf

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_date_header_is_the_internaldate() -> None:
    raw = b"Date: Tue, 3 Mar 2026 09:15:00 +0100\r\nSubject: x\r\n\r\nbody\r\n"
    assert message_date(raw, now=NOW) == datetime(2026, 3, 3, 8, 15, tzinfo=UTC)


def test_missing_date_falls_back_to_the_newest_received() -> None:
    raw = (
        b"Received: from b by c; Wed, 4 Mar 2026 10:00:00 +0000\r\n"
        b"Received: from a by b; Wed, 4 Mar 2026 09:00:00 +0000\r\n"
        b"Subject: no date\r\n\r\nbody\r\n"
    )
    assert message_date(raw, now=NOW) == datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


def test_unusable_dates_leave_it_to_the_server() -> None:
    assert message_date(b"Subject: none\r\n\r\n", now=NOW) is None
    assert message_date(b"Date: yesterday-ish\r\n\r\n", now=NOW) is None
    assert (
        message_date(b"Date: Fri, 1 Jan 2100 00:00:00 +0000\r\n\r\n", now=NOW) is None
    )  # spam from the future


def test_unknown_zone_is_taken_as_utc() -> None:
    raw = b"Date: Tue, 3 Mar 2026 09:15:00 -0000\r\n\r\n"
    assert message_date(raw, now=NOW) == datetime(2026, 3, 3, 9, 15, tzinfo=UTC)


def test_message_id_and_header_block() -> None:
    raw = b"Subject: x\r\nMessage-ID:\r\n <folded@example.test>\r\n\r\nMessage-ID: <body@x>\r\n"
    assert message_id(raw) == "<folded@example.test>"
    assert header_block(raw).endswith(b"\r\n\r\n")
    assert message_id(b"Subject: none\r\n\r\n") == ""


def test_bare_line_feeds_become_crlf() -> None:
    assert normalise_crlf(b"a\nb\r\nc\n") == b"a\r\nb\r\nc\r\n"
    already = b"a\r\nb\r\n"
    assert normalise_crlf(already) is already
