"""A person writes a message with an attachment in Chromium and sends it."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import pytest

from tests.browser.compose import add_recipient, clear_recipients
from tests.conftest import MailUser
from tests.support.smtpd import SubmissionServer
from webmail.devstack.dovecot import DovecotInstance

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_write_and_send_with_attachment(
    page: object,
    live_server: object,
    imap_settings: DovecotInstance,
    mail_user: MailUser,
    smtp_server: SubmissionServer,
    settings: object,
    tmp_path: Path,
) -> None:
    settings.WEBMAIL_SMTP_HOST = "127.0.0.1"  # type: ignore[attr-defined]
    settings.WEBMAIL_SMTP_PORT = smtp_server.port  # type: ignore[attr-defined]
    settings.WEBMAIL_SMTP_SECURITY = "starttls"  # type: ignore[attr-defined]
    settings.WEBMAIL_UPLOAD_DIR = str(tmp_path / "uploads")  # type: ignore[attr-defined]
    smtp_server.users[mail_user.email] = mail_user.password
    report = tmp_path / "rapport-été.txt"
    report.write_text("chiffres du trimestre\n", encoding="utf-8")
    wrong = tmp_path / "wrong-file.bin"
    wrong.write_bytes(b"\0" * 300_000)
    before = len(smtp_server.recorder.messages)

    base = live_server.url  # type: ignore[attr-defined]
    page.goto(f"{base}/login/")  # type: ignore[attr-defined]
    page.fill("input[name=email]", mail_user.email)  # type: ignore[attr-defined]
    page.fill("input[name=password]", mail_user.password)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.click("a.compose-button")  # type: ignore[attr-defined]  (the panel over the mailbox)
    add_recipient(page, "to", "Bob <bob@example.test>")
    page.fill(".compose-form input[name=subject]", "Rapport de l'été")  # type: ignore[attr-defined]
    page.fill("textarea[name=text]", "Bonjour Bob,\nle rapport est joint.")  # type: ignore[attr-defined]
    page.check("#rich-mode")  # type: ignore[attr-defined]
    page.click("#rich-editor")  # type: ignore[attr-defined]
    page.keyboard.press("Control+A")  # type: ignore[attr-defined]
    page.click("button[data-command=bold]")  # type: ignore[attr-defined]
    page.set_input_files("input[name=attachments]", [str(report), str(wrong)])  # type: ignore[attr-defined]
    assert page.locator("#attachment-list li").count() == 2  # type: ignore[attr-defined]
    page.locator("#attachment-list li", has_text="wrong-file.bin").locator("button").click()  # type: ignore[attr-defined]
    assert page.locator("#attachment-list li").count() == 1  # type: ignore[attr-defined]
    page.click("button[value=send]")  # type: ignore[attr-defined]
    page.wait_for_selector("text=Message sent.")  # type: ignore[attr-defined]
    assert page.url.endswith("/mail/")  # type: ignore[attr-defined]

    assert len(smtp_server.recorder.messages) == before + 1
    parsed = message_from_bytes(smtp_server.recorder.messages[-1].data, policy=policy.default)
    assert parsed["Subject"] == "Rapport de l'été"
    assert "<b>Bonjour Bob,</b>" in parsed.get_body(("html",)).get_content().replace("\n", "")
    assert "le rapport est joint." in parsed.get_body(("plain",)).get_content()
    (attachment,) = list(parsed.iter_attachments())
    assert attachment.get_filename() == "rapport-été.txt"
    assert attachment.get_content() == "chiffres du trimestre\n"


def _sign_in_and_compose(page: object, base: str, user: MailUser) -> None:
    page.goto(f"{base}/login/")  # type: ignore[attr-defined]
    page.fill("input[name=email]", user.email)  # type: ignore[attr-defined]
    page.fill("input[name=password]", user.password)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.click("a.compose-button")  # type: ignore[attr-defined]


def _attachments(server: SubmissionServer) -> list[tuple[str, bytes]]:
    parsed = message_from_bytes(server.recorder.messages[-1].data, policy=policy.default)
    return [(a.get_filename(), a.get_payload(decode=True)) for a in parsed.iter_attachments()]


def test_a_mistyped_address_keeps_both_files(
    page: object,
    live_server: object,
    imap_settings: DovecotInstance,
    mail_user: MailUser,
    sending: SubmissionServer,
    tmp_path: Path,
) -> None:
    pdf = tmp_path / "devis.pdf"
    pdf.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 800)
    notes = tmp_path / "notes été.txt"
    notes.write_bytes(b"ligne 1\r\nligne 2\n")
    before = len(sending.recorder.messages)
    _sign_in_and_compose(page, live_server.url, mail_user)  # type: ignore[attr-defined]
    add_recipient(page, "to", "bob@example")
    page.fill(".compose-form input[name=subject]", "Devis")  # type: ignore[attr-defined]
    page.fill("textarea[name=text]", "Le devis et mes notes.")  # type: ignore[attr-defined]
    page.set_input_files("input[name=attachments]", [str(pdf), str(notes)])  # type: ignore[attr-defined]
    page.click("button[value=send]")  # type: ignore[attr-defined]  (waits for the uploads)
    page.wait_for_selector("#compose-error")  # type: ignore[attr-defined]
    assert "is not a valid email address" in page.inner_text("#compose-error")  # type: ignore[attr-defined]
    listed = page.locator("#attachment-list li").all_inner_texts()  # type: ignore[attr-defined]
    assert len(listed) == 2 and "devis.pdf" in listed[0] and "notes été.txt" in listed[1]
    assert page.input_value("textarea[name=text]") == "Le devis et mes notes."  # type: ignore[attr-defined]
    assert len(sending.recorder.messages) == before

    clear_recipients(page, "to")
    add_recipient(page, "to", "bob@example.test")
    page.click("button[value=send]")  # type: ignore[attr-defined]
    page.wait_for_selector("text=Message sent.")  # type: ignore[attr-defined]
    assert _attachments(sending) == [("devis.pdf", pdf.read_bytes()), ("notes été.txt", notes.read_bytes())]


def test_an_oversized_file_is_refused_when_chosen(
    page: object,
    live_server: object,
    imap_settings: DovecotInstance,
    mail_user: MailUser,
    sending: SubmissionServer,
    settings: object,
    tmp_path: Path,
) -> None:
    settings.WEBMAIL_MAX_ATTACHMENT_MB = 1  # type: ignore[attr-defined]
    small = tmp_path / "small.txt"
    small.write_bytes(b"small file\n")
    big = tmp_path / "big.bin"
    big.write_bytes(b"\1" * (1024 * 1024 + 10))
    _sign_in_and_compose(page, live_server.url, mail_user)  # type: ignore[attr-defined]
    page.fill("textarea[name=text]", "Texte précieux")  # type: ignore[attr-defined]
    uploads: list[str] = []
    page.on("request", lambda r: uploads.append(r.url) if "/compose/upload/" in r.url else None)  # type: ignore[attr-defined]
    page.set_input_files("input[name=attachments]", [str(small), str(big)])  # type: ignore[attr-defined]
    error = page.locator("#attachment-error")  # type: ignore[attr-defined]
    assert "“big.bin” (1.0 MB) was not attached: attachments may total at most 1 MB." in error.inner_text()
    page.wait_for_selector("#attachment-list li[data-token]")  # type: ignore[attr-defined]
    assert page.locator("#attachment-list li").count() == 1  # type: ignore[attr-defined]
    assert len(uploads) == 1  # only the small one went up; the big one never left the browser

    # Past the browser's check (an old page, a forged request), the server refuses it the same way.
    page.evaluate("document.querySelector('input[name=attachments]').dataset.maxBytes = '99999999'")  # type: ignore[attr-defined]
    page.set_input_files("input[name=attachments]", [str(big)])  # type: ignore[attr-defined]
    page.wait_for_selector("#attachment-error:has-text('“big.bin” was not attached')")  # type: ignore[attr-defined]
    assert page.locator("#attachment-list li").count() == 1  # type: ignore[attr-defined]
    assert len(uploads) == 2
    assert page.input_value("textarea[name=text]") == "Texte précieux"  # type: ignore[attr-defined]
    add_recipient(page, "to", "bob@example.test")
    page.click("button[value=send]")  # type: ignore[attr-defined]
    page.wait_for_selector("text=Message sent.")  # type: ignore[attr-defined]
    assert _attachments(sending) == [("small.txt", b"small file\n")]
