"""A person signs in with Chromium and sees the inbox; the phone layout works too."""

from __future__ import annotations

import pytest

from tests.conftest import MailUser
from tests.support.mail import append_all, make_message
from webmail.devstack.dovecot import DovecotInstance

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _seed(dovecot: DovecotInstance, user: MailUser) -> None:
    append_all(
        dovecot.imap_port,
        user.email,
        user.password,
        "INBOX",
        [(make_message(subject=f"Browser test {i}"), [] if i == 2 else [b"\\Seen"]) for i in range(3)],
    )


def test_sign_in_and_see_inbox(
    page: object, live_server: object, imap_settings: DovecotInstance, mail_user: MailUser
) -> None:
    _seed(imap_settings, mail_user)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)  # type: ignore[attr-defined]
    page.goto(f"{live_server.url}/mail/")  # type: ignore[attr-defined]
    page.fill("input[name=email]", mail_user.email)  # type: ignore[attr-defined]
    page.fill("input[name=password]", mail_user.password)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_selector("tr.msg")  # type: ignore[attr-defined]
    rows = page.locator("tr.msg")  # type: ignore[attr-defined]
    assert rows.count() == 3
    assert "Browser test 2" in rows.nth(0).inner_text()
    assert "unread" in (rows.nth(0).get_attribute("class") or "")
    assert page.title().startswith("(1) ")  # type: ignore[attr-defined]
    # The CSP forbids inline script and style: our pages must not trip it.
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_wrong_password_in_browser(
    page: object, live_server: object, imap_settings: DovecotInstance, mail_user: MailUser
) -> None:
    page.goto(f"{live_server.url}/login/")  # type: ignore[attr-defined]
    page.fill("input[name=email]", mail_user.email)  # type: ignore[attr-defined]
    page.fill("input[name=password]", "wrong")  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    assert "Wrong email address or password." in page.inner_text("#login-error")  # type: ignore[attr-defined]


def test_phone_layout_shows_list_and_folder_toggle(
    browser: object, live_server: object, imap_settings: DovecotInstance, mail_user: MailUser
) -> None:
    _seed(imap_settings, mail_user)
    context = browser.new_context(viewport={"width": 390, "height": 800}, is_mobile=True)  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=email]", mail_user.email)
    page.fill("input[name=password]", mail_user.password)
    page.click("button[type=submit]")
    page.wait_for_selector("tr.msg")
    assert page.locator("#message-list").is_visible()
    assert not page.locator("#folder-pane").is_visible()
    page.click("[data-toggle-folders]")
    assert page.locator("#folder-pane").is_visible()
    page.click("#folder-pane a[href*='folder=Sent']")
    page.wait_for_selector("h1.folder-title:has-text('Sent')")
    context.close()
