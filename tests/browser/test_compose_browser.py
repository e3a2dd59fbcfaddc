"""A person writes a message with an attachment in Chromium and sends it."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import pytest

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
    page.click("a.compose-button")  # type: ignore[attr-defined]
    page.fill("input[name=to]", "Bob <bob@example.test>")  # type: ignore[attr-defined]
    page.fill("input[name=subject]", "Rapport de l'été")  # type: ignore[attr-defined]
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
