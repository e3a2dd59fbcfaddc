"""Attachments wait server-side while a message is written: form errors and refusals lose nothing.

Checked against the real aiosmtpd (what it receives, byte for byte) and Dovecot (drafts).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.conftest import MailUser
from tests.support.mail import read_folder
from tests.support.smtpd import SubmissionServer
from webmail.compose import staging
from webmail.compose.staging import MAX_ATTACHMENTS
from webmail.devstack.dovecot import DovecotInstance

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\r\n%%EOF\r\n"
CSV = "nom;montant\r\nÉté;12\r\n".encode()


@pytest.fixture
def uploads(settings: object, tmp_path: Path) -> Path:
    folder = tmp_path / "uploads"
    settings.WEBMAIL_UPLOAD_DIR = str(folder)  # type: ignore[attr-defined]
    return folder


@pytest.fixture
def web(
    login: Callable[[MailUser], Client],
    mail_user: MailUser,
    smtp_server: SubmissionServer,
    settings: object,
    uploads: Path,
) -> Client:
    settings.WEBMAIL_SMTP_HOST = "127.0.0.1"  # type: ignore[attr-defined]
    settings.WEBMAIL_SMTP_PORT = smtp_server.port  # type: ignore[attr-defined]
    settings.WEBMAIL_SMTP_SECURITY = "starttls"  # type: ignore[attr-defined]
    smtp_server.users[mail_user.email] = mail_user.password
    return login(mail_user)


def _files() -> list[SimpleUploadedFile]:
    return [
        SimpleUploadedFile("rapport.pdf", PDF, content_type="application/pdf"),
        SimpleUploadedFile("été.csv", CSV, content_type="text/csv"),
    ]


def _tokens(page: str) -> list[str]:
    return re.findall(r'name="staged" value="([A-Za-z0-9_-]+)"', page)


def _received(smtp_server: SubmissionServer) -> list[tuple[str, bytes]]:
    parsed = message_from_bytes(smtp_server.recorder.messages[-1].data, policy=policy.default)
    return [(a.get_filename(), a.get_payload(decode=True)) for a in parsed.iter_attachments()]


def _waiting(uploads: Path) -> list[Path]:
    return [p for p in uploads.rglob("*") if p.is_file() and p.suffix != ".json"]


def test_a_form_error_keeps_every_attachment(
    web: Client, smtp_server: SubmissionServer, uploads: Path
) -> None:
    before = len(smtp_server.recorder.messages)
    typed = {"to": "bob@example", "subject": "Chiffres", "text": "Voici les chiffres.", "action": "send"}
    response = web.post("/mail/compose/", {**typed, "attachments": _files()})
    assert response.status_code == 400
    page = response.content.decode()
    assert "is not a valid email address" in page
    assert "rapport.pdf" in page and "été.csv" in page and "Voici les chiffres." in page
    tokens = _tokens(page)
    assert len(tokens) == 2 and len(_waiting(uploads)) == 2
    assert len(smtp_server.recorder.messages) == before

    fixed = web.post("/mail/compose/", {**typed, "to": "bob@example.test", "staged": tokens})
    assert fixed.status_code == 302, fixed.content[-2000:]
    assert _received(smtp_server) == [("rapport.pdf", PDF), ("été.csv", CSV)]
    assert _waiting(uploads) == []  # sent: nothing left behind


def test_the_server_refuses_an_oversized_file_but_keeps_the_text_and_the_others(
    web: Client, smtp_server: SubmissionServer, uploads: Path, settings: object
) -> None:
    settings.WEBMAIL_MAX_ATTACHMENT_MB = 1  # type: ignore[attr-defined]
    small = web.post("/mail/compose/upload/", {"attachments": _files()[0]}).json()
    assert small["name"] == "rapport.pdf" and small["size"] == len(PDF)
    big = SimpleUploadedFile("big.bin", b"x" * (1024 * 1024), content_type="application/octet-stream")
    typed = {"to": "bob@example.test", "subject": "S", "text": "typed for an hour", "action": "send"}
    response = web.post("/mail/compose/", {**typed, "staged": [small["token"]], "attachments": [big]})
    assert response.status_code == 400
    page = response.content.decode()
    assert "“big.bin” was not attached: attachments may total at most 1 MB." in page
    assert "typed for an hour" in page and _tokens(page) == [small["token"]]
    assert len(_waiting(uploads)) == 1  # the refused file was never stored
    assert web.post("/mail/compose/", {**typed, "staged": [small["token"]]}).status_code == 302
    assert _received(smtp_server) == [("rapport.pdf", PDF)]


def test_the_upload_endpoint_refuses_over_the_limit(web: Client, uploads: Path, settings: object) -> None:
    settings.WEBMAIL_MAX_ATTACHMENT_MB = 1  # type: ignore[attr-defined]
    first = web.post("/mail/compose/upload/", {"attachments": _files()[0]}).json()
    big = SimpleUploadedFile("big.bin", b"x" * (1024 * 1024 - len(PDF) + 1))
    refused = web.post("/mail/compose/upload/", {"attachments": big, "staged": [first["token"]]})
    assert refused.status_code == 400
    assert "“big.bin” was not attached: attachments may total at most 1 MB." in refused.json()["error"]
    assert len(_waiting(uploads)) == 1


def test_too_many_attachments_are_explained_and_nothing_typed_is_lost(
    web: Client, smtp_server: SubmissionServer, uploads: Path
) -> None:
    files = [SimpleUploadedFile(f"f{i}.txt", b"x") for i in range(MAX_ATTACHMENTS + 10)]
    start = time.process_time()
    typed = {"to": "bob@example.test", "text": "keep me", "action": "send"}
    response = web.post("/mail/compose/", {**typed, "attachments": files})
    assert time.process_time() - start < 1.0
    assert response.status_code == 400
    page = response.content.decode()
    assert f"a message can have at most {MAX_ATTACHMENTS} attachments" in page and "keep me" in page
    assert len(_tokens(page)) == MAX_ATTACHMENTS  # the first ones are kept, listed, removable


def test_nobody_else_can_use_or_remove_an_upload(
    web: Client,
    login: Callable[[MailUser], Client],
    make_user: Callable[..., MailUser],
    smtp_server: SubmissionServer,
    uploads: Path,
) -> None:
    mine = web.post("/mail/compose/upload/", {"attachments": _files()[0]}).json()["token"]
    web.post("/logout/")
    other = make_user("other")
    smtp_server.users[other.email] = other.password
    intruder = login(other)
    before = len(smtp_server.recorder.messages)
    response = intruder.post(
        "/mail/compose/", {"to": "bob@example.test", "text": "t", "action": "send", "staged": [mine]}
    )
    assert response.status_code == 400 and "no longer on the server" in response.content.decode()
    assert len(smtp_server.recorder.messages) == before
    intruder.post("/mail/compose/upload/discard/", {"token": mine})
    assert len(_waiting(uploads)) == 1  # still there for its owner


def test_removing_an_attachment_deletes_it(web: Client, smtp_server: SubmissionServer, uploads: Path) -> None:
    a = web.post("/mail/compose/upload/", {"attachments": _files()[0]}).json()["token"]
    b = web.post("/mail/compose/upload/", {"attachments": _files()[1]}).json()["token"]
    assert web.post("/mail/compose/upload/discard/", {"token": a}).json() == {"removed": True}
    assert len(_waiting(uploads)) == 1
    typed = {"to": "bob@example.test", "text": "t", "action": "send"}
    assert web.post("/mail/compose/", {**typed, "staged": [b]}).status_code == 302
    assert _received(smtp_server) == [("été.csv", CSV)]


def test_abandoned_uploads_are_purged_and_a_form_still_listing_one_says_so(
    web: Client, uploads: Path, smtp_server: SubmissionServer
) -> None:
    token = web.post("/mail/compose/upload/", {"attachments": _files()[0]}).json()["token"]
    old = time.time() - staging.MAX_AGE_SECONDS - 60
    for path in uploads.rglob("*"):
        if path.is_file():
            os.utime(path, (old, old))
    assert staging.purge() == 1
    assert list(uploads.rglob("*")) == []
    response = web.post(
        "/mail/compose/", {"to": "bob@example.test", "text": "t", "action": "send", "staged": [token]}
    )
    assert response.status_code == 400
    assert "An attachment you added is no longer on the server" in response.content.decode()


def test_a_saved_draft_keeps_its_attachments_when_opened_and_sent(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser, smtp_server: SubmissionServer, uploads: Path
) -> None:
    typed = {"to": "bob@example.test", "subject": "Plus tard", "text": "à finir"}
    saved = web.post("/mail/compose/", {**typed, "action": "save", "attachments": _files()})
    assert saved.status_code == 302
    assert _waiting(uploads) == []  # the draft holds them now
    page = web.get(saved["Location"])
    html = page.content.decode()
    assert "rapport.pdf" in html and "été.csv" in html
    tokens = _tokens(html)
    assert len(tokens) == 2
    assert _tokens(web.get(saved["Location"]).content.decode()) == tokens  # opened again: the same files
    assert len(_waiting(uploads)) == 2
    initial = page.context["form"].initial
    sent = web.post(
        "/mail/compose/",
        {**typed, "draft_uid": initial["draft_uid"], "staged": tokens, "action": "send"},
    )
    assert sent.status_code == 302
    assert _received(smtp_server) == [("rapport.pdf", PDF), ("été.csv", CSV)]
    assert read_folder(dovecot, mail_user, "Drafts") == []


def test_autosave_keeps_the_attachments_in_the_draft(
    web: Client, dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    token = web.post("/mail/compose/upload/", {"attachments": _files()[1]}).json()["token"]
    reply = web.post(
        "/mail/compose/",
        {"to": "bob@example.test", "text": "v1", "action": "save", "staged": [token]},
        HTTP_X_AUTOSAVE="1",
    ).json()
    assert reply["saved"]
    ((_uid, _flags, raw),) = read_folder(dovecot, mail_user, "Drafts")
    (attachment,) = message_from_bytes(raw, policy=policy.default).iter_attachments()
    assert attachment.get_filename() == "été.csv" and attachment.get_payload(decode=True) == CSV
