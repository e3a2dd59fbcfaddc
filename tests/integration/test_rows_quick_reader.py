"""Rows of odd messages read the quick way say what imapclient's and email's parsers say.

The rows' FETCH answer from a real Dovecot, for mail that lacks headers, has a 1 MB
subject or 60,000 recipients, RFC 2047 words in odd or unknown charsets, control
characters, raw 8-bit headers, groups, quoted names and previews with quotes and
backslashes: the quick FETCH reader gives imapclient's result, and every row (cold
caches, then warm) gives what imapclient's parser, email's header parser and the
decode helpers called directly give (a preview the server decoded in the wrong
charset aside: the rows decode that one again).
"""

from __future__ import annotations

import email.parser
import email.policy
from datetime import UTC, datetime
from typing import Any

import pytest
from imapclient.response_parser import parse_fetch_response

from tests.conftest import MailUser
from tests.support.mail import append_all, imap_login
from webmail.devstack.dovecot import DovecotInstance
from webmail.mailaccess import connection, rows
from webmail.mailaccess.fetchparse import parse_fetch
from webmail.mailaccess.selection import select
from webmail.messages.decode import decode_address_list, decode_date, decode_header_value
from webmail.messages.preview import server_preview_is_wrong

pytestmark = [pytest.mark.integration]


def _message(head: bytes, body: bytes = b"hello\r\n") -> bytes:
    return head + b"\r\n" + body


ODD = [
    _message(b"X-Nothing: at all\r\n"),
    _message(b"To: rcpt@example.test\r\nSubject: no sender\r\n"),
    _message(b"From: Me <me@example.test>\r\nSubject: no recipient\r\n"),
    _message(b"From: a@example.test\r\nTo: b@example.test\r\nSubject: " + b"S" * 1_000_000 + b"\r\n"),
    _message(
        b"From: a@example.test\r\nTo: "
        + b",\r\n ".join(b"r%d@example.test" % i for i in range(60_000))
        + b"\r\nSubject: many recipients\r\n"
    ),
    _message(
        b"From: =?iso-2022-jp?B?GyRCJUYlOSVIGyhC?= <jp@example.test>\r\n"
        b"To: =?koi8-r?Q?=F4=C5=D3=D4?= <ru@example.test>, =?x-unknown?q?abc?= <u@example.test>\r\n"
        b"Subject: =?gb18030?B?1tDOxA==?= =?utf-7?Q?+AOk-t+AOk-?= =?utf-8?q?broken=E2=82?=\r\n"
        b"Date: Mon, 2 Mar 2026 10:00:00 -0000\r\n"
    ),
    _message(
        b"From: Ctrl\x01Name\x7f <c@example.test>\r\nTo: a@example.test\r\n"
        b"Subject: tab\there and \x1b escape\r\nDate: not a date at all\r\n"
    ),
    _message(
        b"From: Andr\xe9 M\xfcller <latin1@example.test>\r\nTo: Z\xc3\xb6e <utf8@example.test>\r\n"
        b"Subject: caf\xe9 cr\xc3\xa8me \xff\r\n",
        b"8-bit body caf\xe9 without a charset\r\n",
    ),
    _message(
        b"From: me@example.test\r\nTo: Friends: a@example.test, b@example.test;, undisclosed-recipients:;\r\n"
        b'Cc: "Doe, \\"J\\"" <j@example.test>, x@example.test (a comment), <@example.test>\r\n'
        b"Bcc: hidden@example.test\r\nSubject: groups and quotes\r\n"
    ),
    _message(
        b"From: q@example.test\r\nSubject:\r\n folded\r\n\tsubject\r\n"
        b"Date: Tue, 3 Mar 2026 25:61:00 +0100\r\n",
        b'He said "hi" \\ back\\slash \\" and (parens) {3}\r\n',
    ),
]


def _reference(uid: int, item: dict[bytes, Any]) -> tuple[Any, ...]:
    """A row's values as imapclient's parser, email's parser and the decode helpers give them."""
    parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    fields: dict[str, list[str]] = {}
    for section, cap in ((rows._HEAD, rows.HEAD_CAP), (rows._RECIPIENTS, rows.RECIPIENTS_CAP)):
        raw = rows._section(item, section)
        last = ""
        for name, value in parser.parsebytes(raw).raw_items():
            last = name.lower()
            fields.setdefault(last, []).append(value)
        if len(raw) >= cap and last in ("from", "to", "cc", "bcc"):
            whole, comma, _cut = fields[last][-1].rpartition(",")
            if comma:
                fields[last][-1] = whole
    senders = decode_address_list(fields["from"][0]) if "from" in fields else []
    recipients = [
        a for key in ("to", "cc", "bcc") for value in fields.get(key, []) for a in decode_address_list(value)
    ]
    date = decode_date(fields["date"][0]) if "date" in fields else None
    if date is None and isinstance(item.get(b"INTERNALDATE"), datetime):
        internal = item[b"INTERNALDATE"]
        date = internal if internal.tzinfo else internal.replace(tzinfo=UTC)
    preview = item.get(b"PREVIEW") or b""
    return (
        uid,
        decode_header_value(fields["subject"][0])[:1000] if "subject" in fields else "",
        senders[0] if senders else None,
        tuple(recipients),
        date,
        decode_header_value(preview)[: rows.PREVIEW_CHARS],
    )


def _shown(summary: rows.MessageSummary) -> tuple[Any, ...]:
    return (summary.uid, summary.subject, summary.sender, summary.recipients, summary.date, summary.preview)


def test_odd_rows_read_quickly_say_what_the_full_parsers_say(
    dovecot: DovecotInstance, mail_user: MailUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    append_all(dovecot.imap_port, mail_user.email, mail_user.password, "INBOX", [(raw, []) for raw in ODD])
    answers: list[list[Any]] = []

    def recording(answer: list[Any], normalise_times: bool = True) -> Any:
        answers.append(list(answer))
        return parse_fetch(answer, normalise_times)

    monkeypatch.setattr(connection, "parse_fetch", recording)
    client = imap_login(dovecot.imap_port, mail_user.email, mail_user.password)
    try:
        select(client, "INBOX")
        uids = list(client.search(["ALL"]))
        assert len(uids) == len(ODD)
        for cache in rows.CACHES:
            cache.cache_clear()
        cold = rows.fetch_summaries(client, uids)
        warm = rows.fetch_summaries(client, uids)
    finally:
        client.logout()
    row_answer = answers[0]
    quick = parse_fetch(row_answer)
    assert quick is not None  # Dovecot's answer for all of this mail is plain enough
    full = parse_fetch_response(row_answer, True, uid_is_key=False)
    assert quick == dict(full)
    assert [type(v) for item in quick.values() for v in item.values()] == [
        type(v) for item in full.values() for v in item.values()
    ]
    expected = {}
    for item in full.values():
        item = dict(item)
        uid = item.pop(b"UID")
        expected[uid] = _reference(uid, item)
    for summaries in (cold, warm):
        shown = {uid: _shown(s) for uid, s in summaries.items()}
        for uid, values in expected.items():
            if server_preview_is_wrong(values[-1]):  # the rows decode it again (rows.repair_previews)
                assert "\ufffd" not in shown[uid][-1]
                expected[uid] = values[:-1] + shown[uid][-1:]
        assert shown == expected
