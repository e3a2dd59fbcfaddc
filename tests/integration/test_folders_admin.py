"""Folder management against the real Dovecot: create, rename/move, delete, subscribe."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from tests.conftest import MailUser
from tests.support.mail import append_all, imap_login, make_message
from webmail.devstack.dovecot import DovecotInstance

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def names(dovecot: DovecotInstance, user: MailUser, *, subscribed: bool = False) -> set[str]:
    client = imap_login(dovecot.imap_port, user.email, user.password)
    try:
        listing = client.list_sub_folders() if subscribed else client.list_folders()
        return {str(name) for _f, _d, name in listing}
    finally:
        client.logout()


def post(web: Client, **data: str) -> bytes:
    return web.post("/settings/folders/", data, follow=True).content


def test_create_nested_and_non_ascii_folder_round_trips(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    web = login(mail_user)
    post(web, op="create", name="Reçus été 📬")
    post(web, op="create", name="Факты", parent="Reçus été 📬")
    assert {"Reçus été 📬", "Reçus été 📬/Факты"} <= names(dovecot, mail_user)
    assert "Reçus été 📬/Факты" in names(dovecot, mail_user, subscribed=True)
    # Stored in modified UTF-7 on the server, shown decoded by the webmail.
    raw = imap_login(dovecot.imap_port, mail_user.email, mail_user.password)
    raw.folder_encode = False
    try:
        encoded = {n for _f, _d, n in raw.list_folders()}
    finally:
        raw.logout()
    assert b"Re&AOc-us &AOk-t&AOk- &2D3c7A-" in encoded
    page = web.get("/mail/").content.decode()
    assert 'data-folder="Reçus été 📬/Факты"' in page
    # A message moved into it can be listed there.
    append_all(
        dovecot.imap_port, mail_user.email, mail_user.password, "INBOX", [(make_message(subject="x"), [])]
    )
    listed = web.get("/mail/", {"folder": "Reçus été 📬/Факты"})
    assert listed.status_code == 200


def test_rename_and_move_folder_keeps_mail_and_subscriptions(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    append_all(
        dovecot.imap_port, mail_user.email, mail_user.password, "Old", [(make_message(subject="kept"), [])]
    )
    web = login(mail_user)
    post(web, op="subscribe", folder="Old")
    post(web, op="create", name="Parent")
    web.get("/mail/", {"folder": "Old"})  # the pooled connection has it selected
    html = post(web, op="rename", folder="Old", name="Nouveau", parent="Parent")
    assert "Folder renamed to “Parent/Nouveau”.".encode() in html
    assert "Old" not in names(dovecot, mail_user)
    assert "Parent/Nouveau" in names(dovecot, mail_user, subscribed=True)
    client = imap_login(dovecot.imap_port, mail_user.email, mail_user.password)
    assert client.folder_status("Parent/Nouveau", [b"MESSAGES"])[b"MESSAGES"] == 1
    client.logout()
    assert web.get("/mail/", {"folder": "Parent/Nouveau"}).status_code == 200


def test_delete_needs_confirmation_when_not_empty(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    append_all(
        dovecot.imap_port, mail_user.email, mail_user.password, "Full", [(make_message(subject="a"), [])]
    )
    web = login(mail_user)
    post(web, op="create", name="Empty")
    post(web, op="delete", folder="Empty")
    assert "Empty" not in names(dovecot, mail_user)
    web.get("/mail/", {"folder": "Full"})  # selected on the pooled connection
    html = post(web, op="delete", folder="Full")
    assert b"is not empty" in html and "Full" in names(dovecot, mail_user)
    post(web, op="delete", folder="Full", confirm="1")
    assert "Full" not in names(dovecot, mail_user)
    assert web.get("/mail/").status_code == 200  # the pool forgot the deleted selection


@pytest.mark.parametrize("folder", ["INBOX", "Trash", "Sent", "Junk", "Archive", "Drafts"])
def test_special_folders_cannot_be_deleted_or_renamed(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser, folder: str
) -> None:
    web = login(mail_user)
    html = post(web, op="delete", folder=folder, confirm="1")
    assert b"special folder" in html
    post(web, op="rename", folder=folder, name="Other")
    assert folder in names(dovecot, mail_user)


def test_unsubscribe_and_duplicate_and_bad_names(
    login: Callable[[MailUser], Client], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    web = login(mail_user)
    post(web, op="create", name="Lists")
    post(web, op="unsubscribe", folder="Lists")
    assert "Lists" not in names(dovecot, mail_user, subscribed=True)
    assert "Lists" in names(dovecot, mail_user)
    assert b"already exists" in post(web, op="create", name="Lists")
    assert b"not allowed" in post(web, op="create", name="a/b")
    page = web.get("/settings/folders/").content
    assert b'data-folder="Lists"' in page and b'name="op" value="subscribe"' in page
