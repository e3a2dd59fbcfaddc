"""Two pages of one user, and changes made elsewhere appearing in both without a reload (issue 16).

The pages come from the live server and hold their event stream on the push service (uvicorn,
tests/support/push.py); Dovecot's push_notification plugin posts the mailbox events there. The
list's own poll runs every 45 s, so a row that shows within 15 s came by push.
"""

from __future__ import annotations

import smtplib
from typing import Any

import pytest

from tests.conftest import MailUser
from tests.support.mail import append_all, imap_login, make_message
from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.pushserver import PushServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PUSHED = 15_000  # ms: far below the 45 s poll


def deliver(dovecot: DovecotInstance, to: str, subject: str) -> None:
    message = f"From: Ada <ada@example.test>\r\nTo: {to}\r\nSubject: {subject}\r\n\r\nHello\r\n"
    with smtplib.LMTP("127.0.0.1", dovecot.lmtp_port) as lmtp:
        lmtp.sendmail("ada@example.test", [to], message)


def sign_in(page: Any, url: str, user: MailUser) -> None:
    page.goto(f"{url}/login/")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", user.password)
    page.click("button[type=submit]")
    page.wait_for_selector("tr.msg")
    page.wait_for_selector("html[data-push=live]", timeout=PUSHED)
    page.evaluate("window.notReloaded = true")


def row(subject: str, extra: str = "") -> str:
    return f"tr.msg{extra}:has-text('{subject}')"


def test_mail_and_flags_from_elsewhere_appear_in_two_pages_and_a_broken_stream_catches_up(
    browser: Any,
    page: Any,
    live_server: Any,
    imap_settings: DovecotInstance,
    mail_user: MailUser,
    push_pages: PushServer,
) -> None:
    dovecot = imap_settings
    append_all(
        dovecot.imap_port,
        mail_user.email,
        mail_user.password,
        "INBOX",
        [(make_message(subject=f"Old {i}"), [b"\\Seen"]) for i in range(3)],
    )
    other_device = browser.new_context()
    second = other_device.new_page()
    try:
        sign_in(page, live_server.url, mail_user)
        sign_in(second, live_server.url, mail_user)
        # The first page reads a message meanwhile: it stays open through the update.
        page.locator(row("Old 1")).click()
        page.wait_for_selector("#reading-pane :text('Old 1')")

        deliver(dovecot, mail_user.email, "Pushed hello")
        for p in (page, second):
            p.wait_for_selector(row("Pushed hello", ".unread"), timeout=PUSHED)
            p.wait_for_function("document.title.startsWith('(1)')", timeout=PUSHED)
            assert p.evaluate("window.notReloaded") is True
        assert page.locator("#reading-pane :text('Old 1')").count() >= 1
        assert page.locator("tr.msg").count() == 4

        # A flag set by another mail program.
        client = imap_login(dovecot.imap_port, mail_user.email, mail_user.password)
        client.select_folder("INBOX")
        uid = client.search(["SUBJECT", "Pushed hello"])[0]
        client.add_flags([uid], [b"\\Flagged"])
        client.logout()
        for p in (page, second):
            p.wait_for_selector(row("Pushed hello", ".flagged"), timeout=PUSHED)

        # The push service restarts (a deploy, a crash): mail arriving meanwhile is not lost.
        push_pages.stop()
        for p in (page, second):
            p.wait_for_selector("html[data-push=down]", timeout=PUSHED)
        deliver(dovecot, mail_user.email, "While the stream was down")
        push_pages.restart()
        for p in (page, second):
            p.wait_for_selector(row("While the stream was down"), timeout=PUSHED)
            assert p.evaluate("window.notReloaded") is True
    finally:
        other_device.close()


# The page is made to look hidden, and the Notification API is replaced by a recorder: a headless
# browser shows no desktop notifications, and the point is what the page asks it to show.
HIDDEN_AND_RECORDED = """
Object.defineProperty(Document.prototype, "hidden", {
  configurable: true, get() { return window.pretendHidden === true; },
});
window.shown = [];
window.Notification = class {
  constructor(title, options) { this.title = title; this.options = options; window.shown.push(this); }
  static get permission() { return "granted"; }
  static requestPermission() { return Promise.resolve("granted"); }
  close() {}
};
"""


def test_new_inbox_mail_in_a_background_page_raises_a_notification_that_opens_it(
    browser: Any,
    live_server: Any,
    imap_settings: DovecotInstance,
    mail_user: MailUser,
    push_pages: PushServer,
) -> None:
    import time

    dovecot = imap_settings
    append_all(
        dovecot.imap_port, mail_user.email, mail_user.password, "INBOX", [(make_message(subject="Old"), [])]
    )
    context = browser.new_context()
    context.add_init_script(HIDDEN_AND_RECORDED)
    page = context.new_page()
    try:
        sign_in(page, live_server.url, mail_user)
        page.evaluate("window.pretendHidden = true")
        deliver(dovecot, mail_user.email, "Lunch on Friday?")
        deadline = time.monotonic() + PUSHED / 1000
        while page.evaluate("window.shown.length") == 0:
            assert time.monotonic() < deadline, "no notification"
            time.sleep(0.1)
        note = page.evaluate("({title: window.shown[0].title, body: window.shown[0].options.body})")
        assert note == {"title": "Ada", "body": "Lunch on Friday?"}
        page.evaluate("window.shown[0].onclick()")
        page.wait_for_url("**/mail/message/?folder=INBOX&uid=2")
    finally:
        context.close()
