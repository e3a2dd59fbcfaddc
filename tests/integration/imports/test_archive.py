"""Mailbox archives: a Takeout-style .mbox uploaded in chunks over real HTTP (cut in the middle
and resumed), imported by the engine into the test Dovecot, then uploaded again."""

from __future__ import annotations

import socket
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.conftest import MailUser
from tests.integration.imports.conftest import Owner
from tests.integration.imports.support import folder_messages, mailbox, wait_for
from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.takeout import Expected, write_takeout
from webmail.imports import service
from webmail.imports.models import ArchiveUpload, ExternalAccount, FetchRun
from webmail.imports.sources.archive import archive_path

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
URL = "/settings/accounts/archives/"


@pytest.fixture
def archive_settings(pop_settings: Any, tmp_path: Path) -> Any:
    pop_settings.WEBMAIL_UPLOAD_DIR = str(tmp_path / "uploads")
    pop_settings.WEBMAIL_ARCHIVE_CHUNK_BYTES = 256 * 1024
    pop_settings.WEBMAIL_POP_BATCH_MESSAGES = 100
    return pop_settings


def start(browser: Client, path: Path) -> dict[str, Any]:
    response = browser.post(URL, {"filename": path.name, "size": path.stat().st_size})
    assert response.status_code == 201, response.content
    return response.json()


def send_rest(browser: Client, upload_id: str, data: bytes, chunk: int) -> dict[str, Any]:
    """Ask where the upload stands, then send the rest chunk by chunk, as the page's script does."""
    state = browser.get(f"{URL}{upload_id}/").json()
    offset = state["offset"]
    while offset < len(data):
        piece = data[offset : offset + chunk]
        response = browser.post(
            f"{URL}{upload_id}/chunk/?offset={offset}", piece, content_type="application/octet-stream"
        )
        assert response.status_code == 200, response.content
        state = response.json()
        offset = state["offset"]
    return state


def cut_chunk(live_server: Any, browser: Client, upload_id: str, offset: int, data: bytes, sent: int) -> None:
    """POST a chunk over a real socket and drop the connection after ``sent`` of its bytes."""
    host, port = live_server.thread.host, live_server.thread.port
    cookies = "; ".join(f"{k}={v.value}" for k, v in browser.cookies.items())
    token = browser.cookies["csrftoken"].value
    head = (
        f"POST {URL}{upload_id}/chunk/?offset={offset} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Cookie: {cookies}\r\nX-CSRFToken: {token}\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(head + data[:sent])
        sock.shutdown(socket.SHUT_WR)  # the home connection drops mid-chunk
        time.sleep(0.5)


def stored(owner: Owner, dovecot: DovecotInstance, folders: set[str]) -> dict[str, list[dict[str, object]]]:
    client = mailbox(dovecot.imap_port, owner.mail.email, owner.mail.password)
    try:
        return {folder: folder_messages(client, folder) for folder in folders}
    finally:
        client.logout()


def check_mailbox(owner: Owner, dovecot: DovecotInstance, expected: Expected) -> None:
    found = stored(owner, dovecot, set(expected.folders.values()))
    counts: Counter[str] = Counter()
    for folder, messages in found.items():
        for message in messages:
            mid = str(message["message_id"])
            if mid not in expected.folders:
                continue  # (the Sent folder may hold other mail)
            counts[mid] += 1
            assert expected.folders[mid] == folder, (mid, folder)
            flags: set[bytes] = message["flags"]  # type: ignore[assignment]
            assert (b"\\Seen" in flags) == (mid in expected.seen), mid
            assert (b"\\Flagged" in flags) == (mid in expected.flagged), mid
            assert expected.keywords[mid] <= flags, (mid, flags)
    assert set(counts) == set(expected.folders), "a message was lost"
    assert set(counts.values()) == {1}, "a message was stored twice"


def test_an_upload_cut_in_the_middle_resumes_and_the_archive_is_imported_once_even_uploaded_twice(
    archive_settings: Any,
    live_server: Any,
    login: Callable[[MailUser], Client],
    owner: Owner,
    dovecot: DovecotInstance,
    tmp_path: Path,
) -> None:
    path = tmp_path / "Takeout All mail Including Spam and Trash.mbox"
    expected = write_takeout(path, 600, seed=5, broken_every=200, repeat_every=100)
    data = path.read_bytes()
    browser = login(owner.mail)
    browser.get("/settings/accounts/")  # the page gives the CSRF cookie, as in a browser

    opened = start(browser, path)
    assert (opened["offset"], opened["status"]) == (0, "uploading")
    chunk = archive_settings.WEBMAIL_ARCHIVE_CHUNK_BYTES
    send = browser.post(
        f"{URL}{opened['id']}/chunk/?offset=0", data[:chunk], content_type="application/octet-stream"
    )
    assert send.json()["offset"] == chunk
    # A chunk for the wrong place is refused with where the upload stands.
    wrong = browser.post(
        f"{URL}{opened['id']}/chunk/?offset=5", b"xx", content_type="application/octet-stream"
    )
    assert (wrong.status_code, wrong.json()["offset"]) == (409, chunk)
    # The connection drops after 100 KB of the second chunk: those bytes are kept.
    cut_chunk(live_server, browser, opened["id"], chunk, data[chunk : 2 * chunk], 100 * 1024)
    upload = ArchiveUpload.objects.get(pk=opened["id"])
    wait_for(lambda: (upload.refresh_from_db(), upload.received)[1] > chunk, timeout=10, what="the cut chunk")
    assert chunk < upload.received <= chunk + 100 * 1024
    assert archive_path(upload).read_bytes() == data[: upload.received]
    final = send_rest(browser, opened["id"], data, chunk)
    assert final["status"] == "ready"
    assert archive_path(upload).read_bytes() == data

    account = ExternalAccount.objects.get(user=owner.user, protocol="archive")
    run = service.account_import(account_id=account.pk)
    assert run is not None
    run.refresh_from_db()
    distinct = len(expected.folders)
    assert (run.status, run.imported) == ("ok", distinct)
    upload.refresh_from_db()
    assert (upload.status, upload.messages, upload.repeated, upload.broken, upload.already) == (
        "done",
        expected.messages,
        expected.repeated,
        expected.broken,
        0,
    )
    assert not archive_path(upload).exists()  # deleted once imported
    check_mailbox(owner, dovecot, expected)
    page = browser.get("/settings/accounts/").content.decode()
    assert "Uploaded archives" in page and path.name in page
    assert f"{expected.broken} broken, not imported" in page and "no header lines" in page

    # The same archive again: nothing is stored twice.
    again = start(browser, path)
    assert send_rest(browser, again["id"], data, chunk)["status"] == "ready"
    second = service.account_import(account_id=account.pk)
    assert second is not None
    second.refresh_from_db()
    assert (second.status, second.imported) == ("ok", 0)
    repeat = ArchiveUpload.objects.get(pk=again["id"])
    assert (repeat.status, repeat.already) == ("done", distinct)
    check_mailbox(owner, dovecot, expected)
    assert FetchRun.objects.filter(account=account, status="failed").count() == 0


def test_bad_uploads_are_refused_in_words(
    archive_settings: Any, login: Callable[[MailUser], Client], owner: Owner
) -> None:
    browser = login(owner.mail)
    empty = browser.post(URL, {"filename": "x.mbox", "size": "0"})
    assert (empty.status_code, empty.json()["error"]) == (400, "This file is empty.")
    huge = browser.post(
        URL, {"filename": "x.mbox", "size": str(archive_settings.WEBMAIL_ARCHIVE_MAX_BYTES + 1)}
    )
    assert huge.status_code == 400 and "larger than" in huge.json()["error"]
    opened = browser.post(URL, {"filename": "x.mbox", "size": "10"}).json()
    too_long = browser.post(
        f"{URL}{opened['id']}/chunk/?offset=0", b"x" * 11, content_type="application/octet-stream"
    )
    assert too_long.status_code == 409 and too_long.json()["offset"] == 0
    other = Client()
    assert other.get(f"{URL}{opened['id']}/").status_code == 302  # not signed in
    assert browser.post(f"{URL}{opened['id']}/cancel/").status_code == 302
    assert ArchiveUpload.objects.get(pk=opened["id"]).status == "cancelled"
