"""What Dovecot posts becomes one event per folder and kind; stream ids order as Redis orders them."""

from __future__ import annotations

import pytest

from webmail.push.dovecot import parse_events
from webmail.push.events import MailboxEvent, user_key
from webmail.push.hub import _older, sse


def test_a_transactions_events_group_by_folder_and_kind() -> None:
    login, changes = parse_events(
        {
            "user": "Alice@Example.org",
            "events": [
                {"event": "FlagsSet", "mailbox": "INBOX", "uid": 4},
                {"event": "FlagsClear", "mailbox": "INBOX", "uid": 4},
                {"event": "MessageNew", "mailbox": "INBOX", "uid": 7},
                {"event": "MessageAppend", "mailbox": "INBOX", "uid": 8},
                {"event": "MessageExpunge", "mailbox": "Trash", "uid": 2},
                {"event": "MailboxRename", "mailbox": "Projects"},
                {"event": "SomethingNewer", "mailbox": "INBOX", "uid": 9},
            ],
        }
    )
    assert login == "Alice@Example.org"
    assert set(changes) == {
        MailboxEvent("INBOX", "flags", (4,)),
        MailboxEvent("INBOX", "new", (7, 8)),
        MailboxEvent("Trash", "expunge", (2,)),
        MailboxEvent("Projects", "other", ()),
    }


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"user": "", "events": []},
        {"user": "a", "events": "x"},
        {"user": "a", "events": [1]},
        {"events": []},
    ],
)
def test_malformed_posts_are_refused(payload: object) -> None:
    with pytest.raises((ValueError, KeyError)):
        parse_events(payload)


def test_an_event_carries_no_mail_content_and_keys_hide_the_address() -> None:
    event = MailboxEvent("INBOX", "new", tuple(range(1, 200)))
    assert event.to_json().startswith('{"folder":"INBOX","kind":"new","uids":[1,2,')
    assert len(event.to_json()) < 400  # the UIDs are capped
    assert user_key("Alice@Example.org ") == user_key("alice@example.org")
    assert "alice" not in user_key("alice@example.org")


def test_stream_ids_compare_as_numbers_not_text() -> None:
    assert _older("999-0", "1000-0")
    assert _older("1000-2", "1000-10")
    assert not _older("1000-10", "1000-2")
    assert sse("mailbox", "{}", "5-0") == b"id: 5-0\nevent: mailbox\ndata: {}\n\n"


@pytest.mark.parametrize(
    ("rest", "name"),
    [
        (b'"Sent" (MESSAGES 3 UIDNEXT 4)\r\n', "Sent"),
        (b"Archive (UIDNEXT 4)\r\n", "Archive"),
        (b"{5}\r\nA b c (MESSAGES 1)\r\n", "A b c"),
        (b'"&AOk-t&AOk-" (MESSAGES 1)\r\n', "été"),
        (b'"Say \\"hi\\"" (MESSAGES 1)\r\n', 'Say "hi"'),
    ],
)
def test_notify_status_names_are_read_as_the_folder_list_has_them(rest: bytes, name: str) -> None:
    from webmail.mailaccess.idle import _mailbox_name

    assert _mailbox_name(rest) == name


def test_notify_list_response_gives_the_folder_after_its_attributes_and_separator() -> None:
    from webmail.mailaccess.idle import _LIST_HEAD, _mailbox_name

    line = b'(\\HasNoChildren) "/" "Projects/2024"\r\n'
    head = _LIST_HEAD.match(line)
    assert head is not None
    assert _mailbox_name(line[head.end() :]) == "Projects/2024"
