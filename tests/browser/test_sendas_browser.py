"""A person adds an address to send as in Chromium, confirms it with the code, picks it as From and sends."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email import message_from_bytes, policy

import pytest

from tests.browser.compose import add_recipient
from tests.browser.steps import sign_in
from tests.conftest import MailUser
from tests.support.smtpd import SubmissionServer
from webmail.devstack.dovecot import DovecotInstance

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def provider(dovecot: DovecotInstance) -> Iterator[SubmissionServer]:
    """The other provider's SMTP server."""
    server = SubmissionServer(dovecot.cert_path, dovecot.key_path, users={"me-at-work": "work-pw"})
    server.start()
    yield server
    server.stop()


def test_add_confirm_and_send_as_another_address(
    page: object,
    live_server: object,
    imap_settings: DovecotInstance,
    mail_user: MailUser,
    smtp_server: SubmissionServer,
    provider: SubmissionServer,
    settings: object,
) -> None:
    settings.WEBMAIL_SMTP_HOST = "127.0.0.1"  # type: ignore[attr-defined]
    settings.WEBMAIL_SMTP_PORT = smtp_server.port  # type: ignore[attr-defined]
    settings.WEBMAIL_SMTP_SECURITY = "starttls"  # type: ignore[attr-defined]
    settings.WEBMAIL_POP_ALLOWED_HOSTS = ["127.0.0.1"]  # type: ignore[attr-defined]
    smtp_server.users[mail_user.email] = mail_user.password
    p = page  # type: ignore[assignment]
    base = live_server.url  # type: ignore[attr-defined]

    sign_in(p, base, mail_user)

    p.goto(f"{base}/settings/identities/")  # type: ignore[attr-defined]
    p.click("a.sendas-add")  # type: ignore[attr-defined]
    p.fill("input[name=email]", "me@work.test")  # type: ignore[attr-defined]
    p.fill("input[name=display_name]", "Work Me")  # type: ignore[attr-defined]
    p.fill("textarea[name=signature]", "Work Me\nACME Corp")  # type: ignore[attr-defined]
    p.fill("input[name=smtp_host]", "127.0.0.1")  # type: ignore[attr-defined]
    # Choosing "None" shows the warning and proposes port 25; back to STARTTLS proposes 587.
    warning = p.locator("[data-sendas-insecure]")  # type: ignore[attr-defined]
    assert not warning.is_visible()
    p.check("input[name=smtp_security][value=none]")  # type: ignore[attr-defined]
    assert warning.is_visible()
    assert p.input_value("input[name=smtp_port]") == "25"  # type: ignore[attr-defined]
    p.check("input[name=smtp_security][value=starttls]")  # type: ignore[attr-defined]
    assert not warning.is_visible()
    p.fill("input[name=smtp_port]", str(provider.port))  # type: ignore[attr-defined]
    p.fill("input[name=smtp_username]", "me-at-work")  # type: ignore[attr-defined]
    p.fill("input[name=password]", "work-pw")  # type: ignore[attr-defined]
    p.click("button.primary")  # type: ignore[attr-defined]
    p.wait_for_selector("text=We sent a confirmation message to me@work.test")  # type: ignore[attr-defined]

    sent = message_from_bytes(smtp_server.recorder.messages[-1].data, policy=policy.default)
    text = sent.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    code = re.search(r"^\s*(\d{9})\s*$", text, re.M).group(1)  # type: ignore[union-attr]
    p.fill("li[data-identity='me@work.test'] input[name=code]", code)  # type: ignore[attr-defined]
    p.click("li[data-identity='me@work.test'] .identity-code button")  # type: ignore[attr-defined]
    p.wait_for_selector("text=me@work.test is confirmed")  # type: ignore[attr-defined]

    p.goto(f"{base}/mail/compose/")  # type: ignore[attr-defined]
    p.fill("textarea[name=text]", "Hello Bob")  # type: ignore[attr-defined]
    # Choosing the From brings its signature under what was typed; choosing back takes it away.
    p.select_option("select[name=identity]", label="Work Me <me@work.test>")  # type: ignore[attr-defined]
    assert p.input_value("textarea[name=text]") == "Hello Bob\n\n-- \nWork Me\nACME Corp"  # type: ignore[attr-defined]
    p.select_option("select[name=identity]", index=0)  # type: ignore[attr-defined]
    assert p.input_value("textarea[name=text]") == "Hello Bob"  # type: ignore[attr-defined]
    p.select_option("select[name=identity]", label="Work Me <me@work.test>")  # type: ignore[attr-defined]
    add_recipient(p, "to", "bob@example.test")
    p.fill(".compose-form input[name=subject]", "From my work address")  # type: ignore[attr-defined]
    before = len(provider.recorder.messages)
    p.click("button[value=send]")  # type: ignore[attr-defined]
    p.wait_for_selector("text=Message sent.")  # type: ignore[attr-defined]
    assert len(provider.recorder.messages) == before + 1
    got = provider.recorder.messages[-1]
    assert (got.login, got.mail_from) == ("me-at-work", "me@work.test")
    parsed = message_from_bytes(got.data, policy=policy.default)
    assert str(parsed["From"]) == "Work Me <me@work.test>"
    assert (
        parsed.get_body(("plain",))
        .get_content()
        .replace("\r\n", "\n")
        .rstrip()
        .endswith("-- \nWork Me\nACME Corp")
    )  # type: ignore[union-attr]
