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

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

ROW = re.compile(rb'<tr class="msg([^"]*)" data-uid="(\d+)"( data-thread-of="(\d+)")?')
BOX = re.compile(rb'name="uid" value="([\d,]+)"')


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


def rows(html: bytes) -> list[tuple[int, str, int | None]]:
    return [
        (int(m.group(2)), m.group(1).decode(), int(m.group(4)) if m.group(4) else None)
        for m in ROW.finditer(html)
    ]


def test_conversations_group_a_thread_under_its_newest_message(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    uid = seed_threads(dovecot, mail_user)
    web = login(mail_user)
    page = web.get("/mail/?view=threads")
    assert page.status_code == 200
    found = rows(page.content)
    tops = [u for u, _cls, parent in found if parent is None]
    # Newest activity first: the Plans thread (last reply is the newest mail), then Lunch, then Unrelated.
    assert tops == [uid["reply2"], uid["other"], uid["lone"]]
    children = [(u, cls) for u, cls, parent in found if parent == uid["reply2"]]
    assert [u for u, _cls in children] == [uid["root"], uid["reply"], uid["reply2"]]
    assert "depth-0" in children[0][1] and "depth-1" in children[1][1] and "depth-2" in children[2][1]
    # The conversation's box selects all of it; the lone messages carry only their UID.
    boxes = [b.decode() for b in BOX.findall(page.content)]
    assert f"{uid['root']},{uid['reply']},{uid['reply2']}" in boxes
    assert b"1\xe2\x80\x933 of 3 conversations" in page.content
    # The choice is remembered on this device: the next plain visit is threaded too.
    assert [u for u, _c, p in rows(web.get("/mail/").content) if p is None] == tops
    assert len(rows(web.get("/mail/?view=list").content)) == 5


def test_an_action_on_a_conversation_applies_to_every_message_in_it(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    uid = seed_threads(dovecot, mail_user)
    web = login(mail_user)
    web.get("/mail/?view=threads")
    box = f"{uid['root']},{uid['reply']},{uid['reply2']}"
    response = web.post("/mail/actions/", {"action": "read", "folder": "INBOX", "uid": [box]})
    assert response.status_code == 302
    client = imap_login(dovecot.imap_port, mail_user.email, mail_user.password)
    try:
        client.select_folder("INBOX", readonly=True)
        seen = set(client.search(["SEEN"]))
    finally:
        client.logout()
    assert seen == {uid["root"], uid["reply"], uid["reply2"]}


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

    reply = make_message(
        subject="Re: Lunch?",
        message_id="<lunch-reply@t>",
        headers={"In-Reply-To": "<lunch@t>", "References": "<lunch@t>"},
    )
    append_all(dovecot.imap_port, mail_user.email, mail_user.password, "INBOX", [(reply, [])])

    refreshed = web.get(poll_url)
    assert refreshed.status_code == 200
    found = rows(refreshed.content)
    tops = [u for u, _cls, parent in found if parent is None]
    assert len(tops) == 3 and tops[1:] == [uid["reply2"], uid["lone"]]
    assert next(u for u, _c, p in found if p == tops[0]) == uid["other"]
    assert "unread" in next(cls for u, cls, p in found if u == tops[0] and p is None)
