"""Zip archives on the archive engine: a .zip of .eml files and a zipped Maildir, uploaded in
chunks over the views, imported into the test Dovecot: folders, read state, broken members
counted and listed, and the same mail from an .mbox and a .zip stored once."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.conftest import MailUser
from tests.integration.imports.conftest import Owner
from tests.integration.imports.support import BASE, folder_messages, mailbox, wait_for
from tests.integration.imports.test_archive import send_rest, start
from webmail.devstack.dovecot import DovecotInstance
from webmail.imports import service
from webmail.imports.models import ArchiveUpload, ExternalAccount
from webmail.imports.selectors import UploadStatus
from webmail.imports.sources.archive import archive_path

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def archive_settings(pop_settings: Any, celery_env: dict[str, str]) -> Any:
    # Where the test stack's worker reads uploads too: if one runs, it may import them first.
    pop_settings.WEBMAIL_UPLOAD_DIR = celery_env["WEBMAIL_UPLOAD_DIR"]
    pop_settings.WEBMAIL_ARCHIVE_CHUNK_BYTES = 64 * 1024
    pop_settings.WEBMAIL_POP_BATCH_MESSAGES = 20
    return pop_settings


def eml(i: int, *, status: str = "", body: str = "") -> bytes:
    extra = f"Status: {status}\n" if status else ""
    return (
        f"Date: {format_datetime(BASE)}\nFrom: Sender {i} <s{i}@example.net>\nTo: me@example.test\n"
        f"Subject: Zipped message {i}\nMessage-ID: <zip-{i}@example.net>\n{extra}\n"
        f"{body or f'Body of message {i}.'}\nFrom the second line, not a separator.\n"
    ).encode()


def upload_and_import(browser: Client, path: Path, chunk: int, owner: Owner) -> ArchiveUpload:
    opened = start(browser, path)
    assert send_rest(browser, opened["id"], path.read_bytes(), chunk)["status"] == "ready"
    account = ExternalAccount.objects.get(user=owner.user, protocol="archive")
    # Imported here; or by the test stack's worker, if one runs (the upload queued it): then
    # this run finds the lock taken, and the upload is waited for.
    run = service.account_import(account_id=account.pk)
    if run is not None:
        run.refresh_from_db()
        assert run.status == "ok", run.error
    upload = ArchiveUpload.objects.filter(pk=opened["id"])
    wait_for(lambda: upload.filter(status="done").exists(), timeout=120, what="the import of the archive")
    return upload.get()


def by_folder(owner: Owner, dovecot: DovecotInstance, folders: list[str]) -> dict[str, dict[str, set[bytes]]]:
    client = mailbox(dovecot.imap_port, owner.mail.email, owner.mail.password)
    try:
        return {
            folder: {str(m["message_id"]): m["flags"] for m in folder_messages(client, folder)}  # type: ignore[misc]
            for folder in folders
        }
    finally:
        client.logout()


def test_a_zip_of_eml_files_goes_to_folders_from_its_directories_and_broken_members_are_listed(
    archive_settings: Any,
    login: Callable[[MailUser], Client],
    owner: Owner,
    dovecot: DovecotInstance,
    tmp_path: Path,
) -> None:
    path = tmp_path / "Exported mail.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(30):
            folder = "" if i < 10 else ("Work/" if i < 20 else "Work/Projects/")
            archive.writestr(f"{folder}message-{i}.eml", eml(i, status="RO" if i % 2 else ""))
        archive.writestr("Work/message-3-again.eml", eml(3))  # the same mail twice: once
        archive.writestr("notes.txt", b"not mail")  # skipped, not counted
        archive.writestr("__MACOSX/._message-1.eml", b"\0\5\26\7")  # macOS's resource fork
        archive.writestr("empty.eml", b"")
        archive.writestr("no-headers.eml", b"just some words\nand more\n")
    browser = login(owner.mail)
    browser.get("/settings/accounts/")

    upload = upload_and_import(browser, path, archive_settings.WEBMAIL_ARCHIVE_CHUNK_BYTES, owner)

    assert (upload.status, upload.messages, upload.repeated, upload.broken) == ("done", 31, 1, 2)
    broken = UploadStatus(upload).broken_messages
    assert [b.reason for b in broken] == ["empty", "no header lines"]
    assert "empty.eml" in broken[0].summary and "no-headers.eml" in broken[1].summary
    assert not archive_path(upload).exists()
    found = by_folder(owner, dovecot, ["Exported mail", "Work", "Work/Projects"])
    assert set(found["Exported mail"]) == {f"<zip-{i}@example.net>" for i in range(10)}
    assert set(found["Work"]) == {f"<zip-{i}@example.net>" for i in range(10, 20)}
    assert set(found["Work/Projects"]) == {f"<zip-{i}@example.net>" for i in range(20, 30)}
    every = {mid: flags for folder in found.values() for mid, flags in folder.items()}
    for i in range(30):
        assert (b"\\Seen" in every[f"<zip-{i}@example.net>"]) == bool(i % 2), i


def test_a_zipped_maildir_keeps_its_folders_and_read_state_and_an_mbox_of_the_same_mail_adds_nothing(
    archive_settings: Any,
    login: Callable[[MailUser], Client],
    owner: Owner,
    dovecot: DovecotInstance,
    tmp_path: Path,
) -> None:
    path = tmp_path / "maildir-backup.zip"
    layout = {
        "Maildir/cur/1700000001.M1P1.host:2,S": eml(1),
        "Maildir/cur/1700000002.M2P1.host:2,FS": eml(2),
        "Maildir/new/1700000003.M3P1.host": eml(3),
        "Maildir/.Sent/cur/1700000004.M4P1.host:2,RS": eml(4),
        "Maildir/.Work.2025/cur/1700000005.M5P1.host:2,": eml(5),
        "Maildir/.Caf&AOk-/cur/1700000006.M6P1.host:2,S": eml(6),  # "Café" in modified UTF-7
        "Maildir/dovecot-uidlist": b"3 V1 N7\n",
        "Maildir/dovecot.index.log": b"\0\1\2",
        "Maildir/.Work.2025/maildirfolder": b"",
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in layout.items():
            archive.writestr(name, data)
    browser = login(owner.mail)
    browser.get("/settings/accounts/")

    upload = upload_and_import(browser, path, archive_settings.WEBMAIL_ARCHIVE_CHUNK_BYTES, owner)

    assert (upload.status, upload.messages, upload.broken) == ("done", 6, 0)
    found = by_folder(owner, dovecot, ["INBOX", "Sent", "Work/2025", "Café"])
    inbox = found["INBOX"]
    assert set(inbox) >= {"<zip-1@example.net>", "<zip-2@example.net>", "<zip-3@example.net>"}
    assert b"\\Seen" in inbox["<zip-1@example.net>"] and b"\\Flagged" not in inbox["<zip-1@example.net>"]
    assert {b"\\Seen", b"\\Flagged"} <= inbox["<zip-2@example.net>"]
    assert b"\\Seen" not in inbox["<zip-3@example.net>"]  # still in new/: unread
    assert {b"\\Seen", b"\\Answered"} <= found["Sent"]["<zip-4@example.net>"]
    assert b"\\Seen" not in found["Work/2025"]["<zip-5@example.net>"]
    assert b"\\Seen" in found["Café"]["<zip-6@example.net>"]

    # The same mail as an .mbox: the ledger (Message-ID and body hash) knows every message.
    again = tmp_path / "same-mail.mbox"
    again.write_bytes(
        b"".join(
            b"From s@example.net Mon Jan 01 00:00:00 2024\n"
            + eml(i).replace(b"\nFrom the second", b"\n>From the second")
            + b"\n"
            for i in range(1, 7)
        )
    )
    second = upload_and_import(browser, again, archive_settings.WEBMAIL_ARCHIVE_CHUNK_BYTES, owner)
    assert (second.status, second.messages, second.already) == ("done", 6, 6)
    client = mailbox(dovecot.imap_port, owner.mail.email, owner.mail.password)
    try:
        assert "same-mail" not in [name for _f, _d, name in client.list_folders()]  # nothing to file there
    finally:
        client.logout()


def test_a_damaged_member_is_listed_and_the_rest_imported(
    archive_settings: Any,
    login: Callable[[MailUser], Client],
    owner: Owner,
    dovecot: DovecotInstance,
    tmp_path: Path,
) -> None:
    path = tmp_path / "damaged.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(40, 45):
            archive.writestr(f"m{i}.eml", eml(i, body="x" * 4000))
    # Corrupt the compressed bytes of one member (its CRC no longer matches).
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("m42.eml")
    offset = info.header_offset + 30 + len(info.filename) + len(info.extra) + 5
    data[offset : offset + 8] = b"\xff" * 8
    path.write_bytes(bytes(data))
    browser = login(owner.mail)
    browser.get("/settings/accounts/")

    upload = upload_and_import(browser, path, archive_settings.WEBMAIL_ARCHIVE_CHUNK_BYTES, owner)

    assert (upload.messages, upload.broken) == (4, 1)
    listed = UploadStatus(upload).broken_messages
    assert listed[0].reason == "damaged or encrypted in the zip file" and "m42.eml" in listed[0].summary
    found = by_folder(owner, dovecot, ["damaged"])["damaged"]
    assert set(found) == {f"<zip-{i}@example.net>" for i in (40, 41, 43, 44)}
