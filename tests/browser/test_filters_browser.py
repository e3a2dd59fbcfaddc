"""In Chromium: a filter made from a search ("filter messages like these"), and the vacation reply
written in the rich editor, with the mailbox's banner while it is on."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.steps import sign_in
from tests.conftest import MailUser
from tests.integration.filters.conftest import active_script, deliver
from tests.support.mail import append_all, imap_login, make_message
from webmail.devstack.dovecot import DovecotInstance

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def filters_on(settings: Any, imap_settings: DovecotInstance) -> DovecotInstance:
    settings.WEBMAIL_MANAGESIEVE_HOST = "127.0.0.1"
    settings.WEBMAIL_MANAGESIEVE_PORT = imap_settings.managesieve_port
    settings.WEBMAIL_MANAGESIEVE_SECURITY = "starttls"
    return imap_settings


def test_create_a_filter_from_a_search(
    page: Any, live_server: Any, filters_on: DovecotInstance, mail_user: MailUser
) -> None:
    dovecot = filters_on
    append_all(
        dovecot.imap_port,
        mail_user.email,
        mail_user.password,
        "INBOX",
        [
            (make_message(subject="Statement", sender="Bank <alerts@mybank.test>", to=mail_user.email), []),
            (make_message(subject="Lunch?", sender="friend@example.test", to=mail_user.email), []),
        ],
    )
    client = imap_login(dovecot.imap_port, mail_user.email, mail_user.password)
    client.create_folder("Bank")
    client.logout()
    p, base = page, live_server.url
    sign_in(p, base, mail_user)

    p.click("details.advanced summary")
    p.fill("form.search input[name=from]", "mybank")
    p.click("form.search button[type=submit]")
    p.wait_for_selector("text=1 match in this folder.")
    p.click("a.filter-like-these")
    p.wait_for_url(re.compile(r".*/settings/filters/new/.*"))
    assert p.input_value("input[name=sender]") == "mybank"  # the search's field carried over

    p.select_option("select[name=move_to]", "Bank")
    p.check("input[name=mark_read]")
    p.click("button.primary")
    p.wait_for_selector("text=From contains “mybank” → move to Bank, mark read")
    assert 'fileinto "Bank"' in active_script(dovecot, mail_user)

    raw = make_message(subject="New statement", sender="alerts@mybank.test", to=mail_user.email)
    deliver(dovecot, mail_user.email, raw, sender="alerts@mybank.test")
    client = imap_login(dovecot.imap_port, mail_user.email, mail_user.password)
    try:
        client.select_folder("Bank", readonly=True)
        assert len(client.search(["SUBJECT", "New statement", "SEEN"])) == 1
    finally:
        client.logout()


def test_vacation_reply_from_the_rich_editor_and_the_mailbox_banner(
    page: Any, live_server: Any, filters_on: DovecotInstance, mail_user: MailUser
) -> None:
    p, base = page, live_server.url
    sign_in(p, base, mail_user)
    assert p.locator("[data-vacation-banner]").count() == 0

    p.goto(f"{base}/settings/")
    p.click("a[href='/settings/filters/']")
    p.click("a[href='/settings/filters/vacation/']")
    p.check("input[name=enabled]")
    p.fill("input[name=subject]", "Out of office")
    p.fill("input[name=end]", "2999-12-31")
    p.check("#vacation-rich")
    editor = p.locator("#vacation-editor")
    editor.click()
    p.keyboard.type("Back ")
    p.click("[data-vacation-rich] button[data-command=bold]")
    p.keyboard.type("soon")
    p.click("button.primary")
    p.wait_for_selector("text=Your vacation reply is on.")

    script = active_script(filters_on, mail_user)
    assert ":mime" in script and "<b>soon</b>" in script and "Back soon" in script

    p.goto(f"{base}/mail/")
    p.wait_for_selector("[data-vacation-banner]")
    assert "Your vacation reply is on until" in p.inner_text("[data-vacation-banner]")
