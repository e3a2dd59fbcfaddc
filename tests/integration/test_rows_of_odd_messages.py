"""Messages from the outside world that lack a header still list, thread and search."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client

from tests.conftest import MailUser
from tests.support.mail import append_all
from webmail.devstack.dovecot import DovecotInstance
from webmail.mailaccess import rows

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

ROW = re.compile(rb'<tr class="msg[^"]*" data-uid="(\d+)"[^>]*>(.*?)</tr>', re.S)

NO_TO = (
    b"From: Me <me@example.test>\r\nBcc: hidden@example.test\r\nSubject: Only Bcc\r\n"
    b"Date: Mon, 2 Mar 2026 10:00:00 +0000\r\n\r\nbody\r\n"
)
NO_RECIPIENT_DRAFT = b"From: Me <me@example.test>\r\nSubject: Draft without recipient\r\n\r\nbody\r\n"
NO_FROM = (
    b"To: rcpt@example.test\r\nSubject: Nobody sent this\r\n"
    b"Date: Mon, 2 Mar 2026 11:00:00 +0000\r\n\r\nbody\r\n"
)
GROUP_ONLY = (
    b"From: Me <me@example.test>\r\nTo: undisclosed-recipients:;\r\nSubject: Group only\r\n\r\nbody\r\n"
)
NO_MAILBOX = b'From: <@example.test>\r\nTo: "Name only"\r\nSubject: Odd addresses\r\n\r\nbody\r\n'
NOTHING = b"X-Nothing: at all\r\n\r\nno headers a row uses\r\n"

ODD = [NO_TO, NO_RECIPIENT_DRAFT, NO_FROM, GROUP_ONLY, NO_MAILBOX, NOTHING]


@pytest.mark.parametrize("folder", ["Sent", "Drafts", "INBOX"])
@pytest.mark.parametrize("view", ["list", "threads"])
def test_odd_messages_list_in_every_folder_and_view(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser, folder: str, view: str
) -> None:
    append_all(dovecot.imap_port, mail_user.email, mail_user.password, folder, [(raw, []) for raw in ODD])
    web = login(mail_user)
    response = web.get("/mail/", {"folder": folder, "view": view})
    assert response.status_code == 200
    rows = [cells.decode() for _uid, cells in ROW.findall(response.content)]
    assert len(rows) == len(ODD)
    names = [re.search(r'<td class="from"[^>]*>(.*?)</td>', row, re.S).group(1) for row in rows]  # type: ignore[union-attr]
    subjects = [re.search(r'class="open"[^>]*>(.*?)</a>', row, re.S).group(1) for row in rows]  # type: ignore[union-attr]
    # Newest first: NOTHING, NO_MAILBOX, GROUP_ONLY, NO_FROM, NO_RECIPIENT_DRAFT, NO_TO.
    assert subjects == [
        "(no subject)",
        "Odd addresses",
        "Group only",
        "Nobody sent this",
        "Draft without recipient",
        "Only Bcc",
    ]
    if folder == "INBOX":
        assert names[0] == "(unknown sender)" and names[3] == "(unknown sender)" and names[5] == "Me"
    else:  # Sent and Drafts show who it goes to: Bcc counts, a group shows its name
        assert names[5] == "hidden@example.test" and names[4] == "(no recipient)"
        assert names[2] == "undisclosed-recipients" and names[0] == "(no recipient)"


def test_odd_messages_in_search_groups_and_an_opened_conversation(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    reply = (
        b"To: rcpt@example.test\r\nSubject: Re: nobody\r\nMessage-ID: <r@x>\r\n"
        b"In-Reply-To: <n@x>\r\n\r\nx\r\n"
    )
    root = b"To: rcpt@example.test\r\nSubject: nobody\r\nMessage-ID: <n@x>\r\n\r\nx\r\n"
    for folder in ("INBOX", "Sent"):
        append_all(dovecot.imap_port, mail_user.email, mail_user.password, folder, [(root, []), (reply, [])])
    append_all(dovecot.imap_port, mail_user.email, mail_user.password, "Sent", [(NO_TO, [])])
    web = login(mail_user)
    found = web.get("/mail/search/", {"folder": "INBOX", "q": "nobody", "scope": "all"})
    assert found.status_code == 200
    assert found.content.count(b"(unknown sender)") == 2  # the Inbox group
    page = web.get("/mail/", {"folder": "INBOX", "view": "threads"}).content.decode()
    url = re.search(r'data-thread-url="([^"]+)"', page).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    opened = web.get(url)
    assert opened.status_code == 200 and opened.content.count(b"(unknown sender)") == 2
    sent = web.get("/mail/", {"folder": "Sent", "view": "threads"}).content.decode()
    url = re.search(r'data-thread-url="([^"]+)"', sent).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    assert "role=sent" in url and web.get(url).status_code == 200


HUGE_SUBJECT = (
    b"From: a@example.test\r\nTo: b@example.test\r\nSubject: " + b"S" * 1_000_000 + b"\r\n\r\nx\r\n"
)
HUGE_TO = (
    b"From: a@example.test\r\nTo: "
    + b",\r\n ".join(b"r%d@example.test" % i for i in range(60_000))
    + b"\r\nSubject: many recipients\r\n\r\nx\r\n"
)


@pytest.mark.parametrize("raw", [HUGE_SUBJECT, HUGE_TO], ids=["subject", "to"])
def test_a_huge_header_never_breaks_the_folder(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser, raw: bytes
) -> None:
    append_all(
        dovecot.imap_port,
        mail_user.email,
        mail_user.password,
        "INBOX",
        [(b"From: x@example.test\r\nSubject: normal\r\n\r\nx\r\n", []), (raw, [])],
    )
    web = login(mail_user)
    for _ in range(2):
        response = web.get("/mail/", {"folder": "INBOX"})
        assert response.status_code == 200
        assert len(ROW.findall(response.content)) == 2


def test_an_answer_too_long_to_read_shows_the_rows_and_never_poisons_the_pool(
    login: Callable[[MailUser], Client],
    dovecot: DovecotInstance,
    mail_user: MailUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """imaplib gives up on a line past its limit and leaves the rest on the socket.

    Seen with a 60,000-address To: in ENVELOPE; the same can happen to a BODYSTRUCTURE
    of thousands of parts. Here the limit is lowered so that a 300-part message's
    BODYSTRUCTURE is past it: the page still shows every row, and the connection the
    error happened on is closed, not handed to the next request.
    """
    import imaplib

    from webmail.mailaccess.session import get_pool

    parts = b"".join(b'--b\r\nContent-Type: text/plain; name="p%d.txt"\r\n\r\nx\r\n' % i for i in range(300))
    many = b"From: a@example.test\r\nSubject: many parts\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
    append_all(
        dovecot.imap_port,
        mail_user.email,
        mail_user.password,
        "INBOX",
        [(b"From: x@example.test\r\nSubject: normal\r\n\r\nx\r\n", []), (many + parts + b"--b--\r\n", [])],
    )
    web = login(mail_user)
    # As on a server that sets no $HasAttachment keyword (Dovecot here does, at delivery and
    # whenever it reads a body): the rows' paperclips come from BODYSTRUCTURE.
    monkeypatch.setattr(rows, "_attachment_keyword", lambda flags: None)
    monkeypatch.setattr(imaplib, "_MAXLINE", 8000)
    opened_before = get_pool().stats()["opened"]
    for attempt in range(3):
        response = web.get("/mail/", {"folder": "INBOX"})
        assert response.status_code == 200, attempt
        assert len(ROW.findall(response.content)) == 2
        assert b"many parts" in response.content and b"normal" in response.content
    # Each request that met the long answer closed its connection and the next opened a fresh one.
    assert get_pool().stats()["opened"] - opened_before >= 2
    monkeypatch.setattr(imaplib, "_MAXLINE", 1_000_000)
    assert b'class="has-att"' in web.get("/mail/", {"folder": "INBOX"}).content
