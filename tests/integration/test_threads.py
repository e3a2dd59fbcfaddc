"""The conversation view against the real Dovecot: THREAD, the header fallback, actions, sync."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from tests.conftest import MailUser
from tests.support.mail import append_all, dated, imap_login, make_message
from webmail.devstack.dovecot import DovecotInstance
from webmail.mailaccess.threads import _threads_from_headers, server_threads
from webmail.mailbox.uidsets import format_uid_set

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

ROW = re.compile(rb'<tr class="msg([^"]*)" data-uid="(\d+)" data-row="([^"]+)"')
BOX = re.compile(rb'name="uid" value="([\d,:]+)"')
THREAD_URL = re.compile(rb'data-thread-url="([^"]+)"')


def seed_threads(dovecot: DovecotInstance, user: MailUser) -> dict[str, int]:
    """Two conversations and a lone message; returns UIDs by label."""
    thread = [
        ("root", make_message(subject="Plans", message_id="<root@t>", date=dated(1))),
        ("lone", make_message(subject="Unrelated", message_id="<lone@t>", date=dated(2))),
        (
            "reply",
            make_message(
                subject="Re: Plans",
                message_id="<reply@t>",
                date=dated(3),
                headers={"In-Reply-To": "<root@t>", "References": "<root@t>"},
            ),
        ),
        ("other", make_message(subject="Lunch?", message_id="<lunch@t>", date=dated(4))),
        (
            "reply2",
            make_message(
                subject="Re: Plans",
                message_id="<reply2@t>",
                date=dated(5),
                headers={"In-Reply-To": "<reply@t>", "References": "<root@t> <reply@t>"},
            ),
        ),
    ]
    append_all(dovecot.imap_port, user.email, user.password, "INBOX", [(raw, []) for _l, raw in thread])
    client = imap_login(dovecot.imap_port, user.email, user.password)
    try:
        client.select_folder("INBOX", readonly=True)
        uids = sorted(client.search(["ALL"]))
    finally:
        client.logout()
    return dict(zip([label for label, _raw in thread], uids, strict=True))


def rows(html: bytes) -> list[tuple[int, str, str]]:
    """(uid, classes, row id): row ids are c<key> for conversations, t<key>-<uid> inside one."""
    return [(int(m.group(2)), m.group(1).decode(), m.group(3).decode()) for m in ROW.finditer(html)]


def opened(web: Client, page: bytes, index: int = 0) -> list[tuple[int, str, str]]:
    """Open the index-th conversation of a page as the browser does, and return its rows."""
    url = THREAD_URL.findall(page)[index].decode().replace("&amp;", "&")
    response = web.get(url)
    assert response.status_code == 200
    return rows(response.content)


def server_state(dovecot: DovecotInstance, user: MailUser, folder: str, criteria: str = "ALL") -> set[int]:
    client = imap_login(dovecot.imap_port, user.email, user.password)
    try:
        client.select_folder(folder, readonly=True)
        return set(client.search([criteria]))
    finally:
        client.logout()


def test_conversations_group_a_thread_under_its_newest_message(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    uid = seed_threads(dovecot, mail_user)
    web = login(mail_user)
    page = web.get("/mail/?view=threads")
    assert page.status_code == 200
    found = rows(page.content)
    # Newest activity first: the Plans thread (its last reply is the newest mail), then Lunch, then Unrelated.
    assert [u for u, _c, _r in found] == [uid["reply2"], uid["other"], uid["lone"]]
    assert [r for _u, _c, r in found] == [f"c{uid['root']}", f"c{uid['other']}", f"c{uid['lone']}"]
    # The conversation's box selects all of it; the lone messages carry only their UID.
    boxes = [b.decode() for b in BOX.findall(page.content)]
    plans = sorted([uid["root"], uid["reply"], uid["reply2"]])
    assert boxes == [format_uid_set(plans), str(uid["other"]), str(uid["lone"])]
    assert b"1\xe2\x80\x933 of 3 conversations" in page.content
    # Opening it fetches its messages in reading order, with their depth in the thread.
    children = opened(web, page.content)
    assert [u for u, _c, _r in children] == [uid["root"], uid["reply"], uid["reply2"]]
    assert [c.split("depth-")[1].split()[0] for _u, c, _r in children] == ["0", "1", "2"]
    assert {r for _u, _c, r in children} == {
        f"t{uid['root']}-{u}" for u in (uid["root"], uid["reply"], uid["reply2"])
    }
    # The choice is remembered on this device: the next plain visit is threaded too.
    assert [u for u, _c, _r in rows(web.get("/mail/").content)] == [uid["reply2"], uid["other"], uid["lone"]]
    assert len(rows(web.get("/mail/?view=list").content)) == 5


def test_an_action_on_a_long_conversation_applies_to_every_message_in_it(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    thread = [make_message(subject="Long", message_id="<m0@t>", date=dated(0))]
    thread += [
        make_message(
            subject="Re: Long",
            message_id=f"<m{i}@t>",
            date=dated(i),
            headers={"In-Reply-To": f"<m{i - 1}@t>", "References": f"<m0@t> <m{i - 1}@t>"},
        )
        for i in range(1, 130)
    ]
    append_all(dovecot.imap_port, mail_user.email, mail_user.password, "INBOX", [(m, []) for m in thread])
    append_all(
        dovecot.imap_port, mail_user.email, mail_user.password, "INBOX", [(make_message(subject="Other"), [])]
    )
    web = login(mail_user)
    page = web.get("/mail/?view=threads").content
    [conv_box] = [b.decode() for b in BOX.findall(page) if b":" in b]
    assert b'<span class="count" aria-hidden="true">130</span>' in page
    children = opened(web, page)
    assert len(children) == 100  # the newest 100 are listed...
    assert (
        b"and 30 older messages, not shown"
        in web.get(THREAD_URL.findall(page)[0].decode().replace("&amp;", "&")).content
    )
    response = web.post("/mail/actions/", {"action": "archive", "folder": "INBOX", "uid": [conv_box]})
    assert response.status_code == 302
    assert len(server_state(dovecot, mail_user, "Archive")) == 130  # ...but the action takes all 130
    assert len(server_state(dovecot, mail_user, "INBOX")) == 1


def test_an_empty_folder_and_a_vanished_message_in_conversation_view(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    web = login(mail_user)
    empty = web.get("/mail/?view=threads&folder=Archive")
    assert empty.status_code == 200 and b"This folder is empty." in empty.content
    uid = seed_threads(dovecot, mail_user)
    page = web.get("/mail/?view=threads").content
    other = imap_login(dovecot.imap_port, mail_user.email, mail_user.password)
    other.select_folder("INBOX")
    other.delete_messages([uid["reply"]])
    other.expunge()
    other.logout()
    # The list drawn before the expunge still points at the gone message: opening skips it.
    assert [u for u, _c, _r in opened(web, page)] == [uid["root"], uid["reply2"]]


def test_header_fallback_finds_the_same_conversations_as_the_server(
    dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    seed_threads(dovecot, mail_user)
    client = imap_login(dovecot.imap_port, mail_user.email, mail_user.password)
    try:
        client.select_folder("INBOX", readonly=True)
        assert client.has_capability("THREAD=REFERENCES")
        by_server = server_threads(client)
        by_headers = _threads_from_headers(client)
    finally:
        client.logout()

    def groups(threads: list[list[tuple[int, int]]]) -> set[frozenset[int]]:
        return {frozenset(uid for uid, _d in conv) for conv in threads}

    assert groups(by_server) == groups(by_headers)
    assert len(by_server) == 3


def test_a_reply_arriving_on_another_device_joins_its_conversation_on_the_next_poll(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    uid = seed_threads(dovecot, mail_user)
    web = login(mail_user)
    page = web.get("/mail/?view=threads&folder=INBOX")
    token = re.search(rb"state=([0-9a-f]+)", page.content)
    assert token, "the page hands its change token to the poller"
    poll_url = f"/mail/poll/?folder=INBOX&state={token.group(1).decode()}"
    assert web.get(poll_url).status_code == 204  # the first poll does not redraw an unchanged list
    everything = ",".join(str(u) for u in uid.values())
    assert (
        web.post("/mail/actions/", {"action": "read", "folder": "INBOX", "uid": [everything]}).status_code
        == 302
    )

    reply = make_message(
        subject="Re: Lunch?",
        message_id="<lunch-reply@t>",
        headers={"In-Reply-To": "<lunch@t>", "References": "<lunch@t>"},
    )
    append_all(dovecot.imap_port, mail_user.email, mail_user.password, "INBOX", [(reply, [])])

    refreshed = web.get(poll_url)
    assert refreshed.status_code == 200
    found = rows(refreshed.content)
    assert len(found) == 3 and [u for u, _c, _r in found[1:]] == [uid["reply2"], uid["lone"]]
    _newest, classes, row = found[0]
    assert row == f"c{uid['other']}"  # the Lunch conversation, now with the reply on top
    assert "unread" in classes  # the reply is unread, though the rest of the list was read
    assert "unread" not in found[1][1]


def test_the_unread_count_covers_older_messages_and_all_in_folder_counts_messages(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser, settings: object
) -> None:
    uid = seed_threads(dovecot, mail_user)
    client = imap_login(dovecot.imap_port, mail_user.email, mail_user.password)
    client.select_folder("INBOX")
    client.add_flags([u for k, u in uid.items() if k != "reply"], [b"\\Seen"])  # only an older one unread
    client.logout()
    settings.WEBMAIL_PAGE_SIZE = 2  # type: ignore[attr-defined]
    web = login(mail_user)
    page = web.get("/mail/?view=threads").content
    top = rows(page)[0]
    assert top[0] == uid["reply2"] and "unread" in top[1]  # its newest message is read, an older one not
    assert b'<span class="visually-hidden">1 unread</span>' in page
    # "All in this folder" counts the folder's 5 messages, not its 3 conversations.
    assert b"All 5 messages in this folder" in page


def test_the_conversation_endpoint_ignores_junk_and_reads_only(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    uid = seed_threads(dovecot, mail_user)
    web = login(mail_user)
    junk = "²:0,4294967296:1,-3:0,abc"
    response = web.get("/mail/conversation/", {"folder": "INBOX", "tree": junk, "key": "²", "more": "٣"})
    assert response.status_code == 200 and rows(response.content) == []
    good = web.get(
        "/mail/conversation/", {"folder": "INBOX", "tree": f"{uid['root']}:0", "key": str(uid["root"])}
    )
    assert [u for u, _c, _r in rows(good.content)] == [uid["root"]]
    assert server_state(dovecot, mail_user, "INBOX", "SEEN") == set()  # opening rows marks nothing read
    assert (
        web.post("/mail/actions/", {"action": "read", "folder": "INBOX", "uid": ["²", "0:0"]}).status_code
        == 302
    )
    assert server_state(dovecot, mail_user, "INBOX", "SEEN") == set()
