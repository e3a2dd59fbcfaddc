"""The list pages against a Dovecot set as deploy/dovecot.conf sets it: no mailbox list index.

Without the list index (see README, "Dovecot settings for large mailboxes"), Dovecot answers
LIST-STATUS and STATUS by opening each folder's own index: the folder tree's counts, the
first page of a new session, new mail and the poller's change token must come out as right
as with it (the rest of the suite runs with Dovecot's default, which the IDLE-mode push test
needs for NOTIFY).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client

from tests.conftest import MailUser
from tests.support.mail import append_all, imap_login, make_message
from webmail.devstack.dovecot import DovecotInstance

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

ROW = re.compile(rb'<tr class="msg[^"]*" data-uid="(\d+)"')


@pytest.fixture(scope="module")
def deploy_dovecot() -> Iterator[DovecotInstance]:
    root = Path(tempfile.mkdtemp(prefix="webmail-dovecot-nolistindex-", dir="/tmp"))
    instance = DovecotInstance.create(root)
    assert not instance.mailbox_list_index  # the devstack's default, as deploy/dovecot.conf
    instance.start()
    yield instance
    instance.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def user(deploy_dovecot: DovecotInstance, settings: pytest.FixtureRequest) -> MailUser:
    settings.WEBMAIL_IMAP_HOST = "127.0.0.1"
    settings.WEBMAIL_IMAP_PORT = deploy_dovecot.imap_port
    settings.WEBMAIL_IMAP_SECURITY = "starttls"
    settings.WEBMAIL_TLS_VERIFY = True
    settings.WEBMAIL_TLS_CA_FILE = str(deploy_dovecot.cert_path)
    made = MailUser(f"nolistindex-{os.urandom(4).hex()}@example.test", f"pw-{os.urandom(6).hex()}")
    deploy_dovecot.add_user(made.email, made.password)
    return made


def new_session(client: Client, user: MailUser) -> Client:
    """Signed in with no pooled connection left: the next page starts a new IMAP session."""
    from webmail.mailaccess.session import get_pool

    get_pool().discard_user(user.email)
    response = client.post("/login/", {"email": user.email, "password": user.password})
    assert response.status_code == 302, response.content[:500]
    get_pool().discard_user(user.email)
    return client


def unread(html: bytes, folder: str) -> int:
    entry = re.search(rb'data-folder="' + folder.encode() + rb'">.*?</li>', html, re.S)
    assert entry, folder
    count = re.search(rb'<span class="unread-count"[^>]*>(\d+)</span>', entry.group(0))
    return int(count.group(1)) if count else 0


def test_the_server_offers_no_notify_so_the_setting_is_in_force(
    deploy_dovecot: DovecotInstance, user: MailUser
) -> None:
    client = imap_login(deploy_dovecot.imap_port, user.email, user.password)
    try:
        assert b"NOTIFY" not in client.capabilities()  # Dovecot offers it only with the list index
        assert b"LIST-STATUS" in client.capabilities()
    finally:
        client.logout()


def test_counts_new_mail_and_changes_from_another_device_on_new_and_pooled_sessions(
    client: Client, deploy_dovecot: DovecotInstance, user: MailUser
) -> None:
    port = deploy_dovecot.imap_port
    inbox_mail = [(make_message(subject=f"In {i}"), [] if i < 3 else [b"\\Seen"]) for i in range(9)]
    append_all(port, user.email, user.password, "INBOX", inbox_mail)
    archive_mail = [(make_message(subject="Filed"), []), (make_message(subject="Read"), [b"\\Seen"])]
    append_all(port, user.email, user.password, "Archive", archive_mail)

    page = new_session(client, user).get("/mail/?folder=INBOX").content
    inbox = [int(u) for u in ROW.findall(page)]
    assert inbox == list(range(9, 0, -1))
    assert (unread(page, "INBOX"), unread(page, "Archive")) == (3, 1)
    # The rows ask no RFC822.SIZE (on Maildir it costs a new session a parse of the whole
    # dovecot-uidlist): the date's hover title is the date alone.
    titles = re.findall(rb'<time datetime="[^"]+" title="([^"]*)"', page)
    assert len(titles) == 9 and all(t and "·".encode() not in t for t in titles)
    poll = client.get("/mail/poll/?folder=INBOX")
    token = re.search(rb"state=([0-9a-f]+)", poll.content)
    assert token, "the poll response carries its change token"

    # Another device: new mail in both folders, one message read, one flagged (no count moves).
    other = imap_login(port, user.email, user.password)
    other.append("INBOX", make_message(subject="Fresh"))
    other.append("Archive", make_message(subject="Filed too"))
    other.select_folder("INBOX")
    other.add_flags([1], [b"\\Seen"])
    other.logout()

    # The pooled session (the same IMAP connection) sees all of it...
    refreshed = client.get(f"/mail/poll/?folder=INBOX&state={token.group(1).decode()}")
    assert refreshed.status_code == 200
    assert [int(u) for u in ROW.findall(refreshed.content)][:2] == [10, 9]
    assert (unread(refreshed.content, "INBOX"), unread(refreshed.content, "Archive")) == (3, 2)
    # ...and so does a new session's first page.
    page = new_session(client, user).get("/mail/?folder=INBOX").content
    assert [int(u) for u in ROW.findall(page)] == list(range(10, 0, -1))
    assert (unread(page, "INBOX"), unread(page, "Archive")) == (3, 2)
    assert b"<title>(3) " in page
    # A flag that changes no count still changes the poller's token (HIGHESTMODSEQ).
    token = re.search(rb"state=([0-9a-f]+)", client.get("/mail/poll/?folder=INBOX").content)
    assert token
    other = imap_login(port, user.email, user.password)
    other.select_folder("INBOX")
    other.add_flags([5], [b"\\Flagged"])
    other.logout()
    assert client.get(f"/mail/poll/?folder=INBOX&state={token.group(1).decode()}").status_code == 200
