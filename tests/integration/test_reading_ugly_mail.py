"""The reading views on the ugliest mail, through the real Dovecot (issue 12).

Headers missing or absurd, address groups without members, raw 8-bit headers,
and forwarded messages or multiparts nested a thousand deep: the reading pane
(full page and htmx), every HTML body frame, every part link and the raw
source must all answer without a 500, and without a traceback in the log.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client

from tests.conftest import MailUser
from tests.support.mail import imap_login
from webmail.devstack.dovecot import DovecotInstance
from webmail.messages.parts import MAX_SHOWN_SUBJECT

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

EML = Path(__file__).resolve().parent.parent / "fixtures" / "eml"
DEEP = 1200  # Dovecot parses 100 levels; the rest must not hurt either


def rfc822_chain(depth: int) -> bytes:
    raw = b"From: inner@example.test\r\nSubject: level 0\r\n\r\ninnermost body\r\n"
    for level in range(1, depth + 1):
        raw = (
            b"From: l%d@example.test\r\nSubject: level %d\r\nContent-Type: message/rfc822\r\n\r\n"
            % (
                level,
                level,
            )
            + raw
        )
    return raw


def forward_chain(depth: int) -> bytes:
    """Forwarded as attachment, again and again: a multipart at each level."""
    raw = b"From: inner@example.test\r\nSubject: level 0\r\n\r\ninnermost body\r\n"
    for level in range(1, depth + 1):
        b = b"fwd%d" % level
        raw = (
            b"From: l%d@example.test\r\nSubject: Fwd: level %d\r\nMIME-Version: 1.0\r\n" % (level, level)
            + b"Content-Type: multipart/mixed; boundary="
            + b
            + b"\r\n\r\n--"
            + b
            + b"\r\nContent-Type: text/plain\r\n\r\nforwarded %d\r\n--" % level
            + b
            + b"\r\nContent-Type: message/rfc822\r\n\r\n"
            + raw
            + b"\r\n--"
            + b
            + b"--\r\n"
        )
    return raw


def multipart_chain(depth: int) -> bytes:
    body = b"Content-Type: text/plain\r\n\r\ndeep text\r\n"
    for level in range(depth, 0, -1):
        b = b"m%d" % level
        body = (
            b"Content-Type: multipart/mixed; boundary="
            + b
            + b"\r\n\r\n--"
            + b
            + b"\r\n"
            + body
            + b"\r\n--"
            + b
            + b"--\r\n"
        )
    return b"From: a@example.test\r\nSubject: deep multipart\r\nMIME-Version: 1.0\r\n" + body


def received_block(hops: int) -> bytes:
    return b"".join(
        b"Received: from relay%d.example.net (relay%d.example.net [10.0.%d.%d])\r\n"
        b"\tby mx.example.org with ESMTPS id q%d; Mon, 1 Jan 2024 10:00:00 +0000\r\n"
        % (i, i, i % 256, i % 200, i)
        for i in range(hops)
    )


GENERATED: dict[str, Callable[[], bytes]] = {
    # Too big for the fixture folder, so built here.
    "subject of 1 MB without a space": lambda: (
        b"From: a@example.test\r\nSubject: " + b"x" * 1_000_000 + b"\r\n\r\nbody\r\n"
    ),
    "subject of 1 MB in words": lambda: (
        b"From: a@example.test\r\nSubject: " + b"word " * 200_000 + b"\r\n\r\nbody\r\n"
    ),
    "5,000 Received headers": lambda: (
        received_block(5000) + b"From: a@example.test\r\nSubject: hops\r\n\r\nbody\r\n"
    ),
    "forwarded as attachment 1,200 deep": lambda: forward_chain(DEEP),
    "message/rfc822 1,200 deep": lambda: rfc822_chain(DEEP),
    "multipart 1,200 deep": lambda: multipart_chain(DEEP),
}
FIXTURES = [
    "no_from_to_date.eml",
    "no_headers_at_all.eml",
    "empty_address_groups.eml",
    "raw_8bit_headers_mixed_charsets.eml",
    "raw_8bit_headers.eml",
    "undisclosed_recipients_group.eml",
    "huge_header_100kb.eml",
]


def append(dovecot: DovecotInstance, user: MailUser, raw: bytes) -> int:
    client = imap_login(dovecot.imap_port, user.email, user.password)
    try:
        client.append("INBOX", raw)
        client.select_folder("INBOX")
        return max(client.search("ALL"))
    finally:
        client.logout()


def open_everything(web: Client, uid: int) -> str:
    """Pane (page and htmx), body frames, part links, raw source: all must answer."""
    page = web.get(f"/mail/message/?folder=INBOX&uid={uid}")
    assert page.status_code == 200
    pane = web.get(f"/mail/message/?folder=INBOX&uid={uid}", HTTP_HX_REQUEST="true")
    assert pane.status_code == 200
    content = page.content.decode()
    links = re.findall(r'src="(/mail/message/body/[^"]+)"', content)
    links += re.findall(r'href="(/mail/message/(?:part|raw)/[^"]+)"', content)
    assert any("/raw/" in link for link in links)
    for link in set(links):
        response = web.get(html.unescape(link))
        assert response.status_code == 200, link
        if response.streaming:
            b"".join(response.streaming_content)
    return content


@pytest.fixture
def web(login: Callable[[MailUser], Client], mail_user: MailUser) -> Client:
    return login(mail_user)


@pytest.mark.parametrize("name", FIXTURES + list(GENERATED))
def test_ugly_mail_opens_everywhere(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    raw = (EML / name).read_bytes() if name.endswith(".eml") else GENERATED[name]()
    uid = append(dovecot, mail_user, raw)
    with caplog.at_level(logging.ERROR):
        open_everything(web, uid)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_missing_headers_say_so(web: Client, dovecot: DovecotInstance, mail_user: MailUser) -> None:
    page = open_everything(web, append(dovecot, mail_user, (EML / "no_headers_at_all.eml").read_bytes()))
    head = page.split('class="message-head"', 1)[1].split("</header>", 1)[0]
    assert "(no subject)" in head and "(unknown sender)" in head and "(no date)" in head
    assert "Just a body, not one header above it." in page


def test_groups_without_members_show_their_names(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    page = open_everything(web, append(dovecot, mail_user, (EML / "empty_address_groups.eml").read_bytes()))
    head = page.split('class="message-head"', 1)[1].split("</header>", 1)[0]
    assert '<dd class="from"><span title="">Announcements</span></dd>' in head
    assert "undisclosed-recipients" in head and "&lt;&gt;" not in head


def test_raw_8bit_headers_are_read(web: Client, dovecot: DovecotInstance, mail_user: MailUser) -> None:
    uid = append(dovecot, mail_user, (EML / "raw_8bit_headers_mixed_charsets.eml").read_bytes())
    page = html.unescape(open_everything(web, uid))
    assert "Jürgen Müller" in page and "Иван Петров" in page and "François" in page
    raw = web.get(f"/mail/message/raw/?folder=INBOX&uid={uid}")
    assert b"J\xfcrgen" in b"".join(raw.streaming_content)  # the source is the bytes, untouched


def test_a_1mb_subject_is_shown_cut(web: Client, dovecot: DovecotInstance, mail_user: MailUser) -> None:
    page = open_everything(web, append(dovecot, mail_user, GENERATED["subject of 1 MB without a space"]()))
    subject = re.search(r'<h2 class="message-subject">([^<]*)</h2>', page).group(1)
    assert len(subject) == MAX_SHOWN_SUBJECT and subject.endswith("…")
    assert len(re.search(r"<title>([^<]*)</title>", page).group(1)) < 300
    assert len(page) < 100_000


@pytest.mark.parametrize("name", ["forwarded as attachment 1,200 deep", "message/rfc822 1,200 deep"])
def test_deep_forwards_show_a_few_levels_then_a_download(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser, name: str
) -> None:
    from webmail.messages.choose import MAX_NESTED_MESSAGES

    page = open_everything(web, append(dovecot, mail_user, GENERATED[name]()))
    assert page.count('<article class="nested-message">') == MAX_NESTED_MESSAGES
    offered = re.findall(r'class="att-name"[^>]*>([^<]+)<', page)
    assert len(offered) == 1 and offered[0].endswith(".eml")


def test_the_list_shows_mail_without_a_sender_or_recipient(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    # The list row's template crashed (500) on a message with no From.
    for name in ("no_headers_at_all.eml", "no_from_to_date.eml", "empty_address_groups.eml"):
        append(dovecot, mail_user, (EML / name).read_bytes())
    client = imap_login(dovecot.imap_port, mail_user.email, mail_user.password)
    try:
        client.append("Sent", (EML / "no_headers_at_all.eml").read_bytes())
    finally:
        client.logout()
    inbox = web.get("/mail/?folder=INBOX")
    assert inbox.status_code == 200
    assert inbox.content.decode().count("(unknown sender)") == 2
    assert web.get("/mail/?folder=Sent").status_code == 200
