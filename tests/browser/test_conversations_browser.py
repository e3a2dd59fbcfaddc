"""Conversations in the browser, and the shortcuts that open, answer and write mail."""

from __future__ import annotations

import pytest

from tests.conftest import MailUser
from tests.support.mail import append_all, dated, make_message
from webmail.devstack.dovecot import DovecotInstance

from .test_actions_browser import _sign_in, _subjects

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _seed(dovecot: DovecotInstance, user: MailUser) -> None:
    reply_headers = {"In-Reply-To": "<root@t>", "References": "<root@t>"}
    append_all(
        dovecot.imap_port,
        user.email,
        user.password,
        "INBOX",
        [
            (make_message(subject="Plans", message_id="<root@t>", date=dated(1), to=user.email), []),
            (
                make_message(
                    subject="Lunch?",
                    sender="Bob <bob@example.test>",
                    to=user.email,
                    date=dated(2),
                    headers={"Cc": "carol@example.test"},
                ),
                [],
            ),
            (
                make_message(
                    subject="Re: Plans",
                    message_id="<r1@t>",
                    date=dated(3),
                    to=user.email,
                    headers=reply_headers,
                ),
                [],
            ),
        ],
    )


def test_conversation_view_expands_and_acts_on_the_whole_thread(
    page: object, live_server: object, imap_settings: DovecotInstance, mail_user: MailUser
) -> None:
    dovecot = imap_settings
    _seed(dovecot, mail_user)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)  # type: ignore[attr-defined]
    _sign_in(page, live_server.url, mail_user)  # type: ignore[attr-defined]
    assert page.locator("tr.msg").count() == 3  # type: ignore[attr-defined]

    page.click(".view-toggle a")  # type: ignore[attr-defined]
    page.wait_for_selector(".view-toggle strong >> text=Conversations")  # type: ignore[attr-defined]
    visible = page.locator("tr.msg:visible")  # type: ignore[attr-defined]
    assert visible.count() == 2  # the Plans thread (2 messages) and Lunch
    assert page.locator("tr.msg.conv").first.locator(".count").inner_text() == "2"  # type: ignore[attr-defined]
    page.click("[data-thread-toggle]")  # type: ignore[attr-defined]
    assert page.locator("tr.msg.thread-child:visible").count() == 2  # type: ignore[attr-defined]
    page.click("[data-thread-toggle]")  # type: ignore[attr-defined]
    assert page.locator("tr.msg.thread-child:visible").count() == 0  # type: ignore[attr-defined]

    # j puts the cursor on the conversation; e archives every message in it.
    page.keyboard.press("j")  # type: ignore[attr-defined]
    page.keyboard.press("e")  # type: ignore[attr-defined]
    page.wait_for_selector("text=2 messages archived.")  # type: ignore[attr-defined]
    assert set(_subjects(dovecot, mail_user, "Archive")) == {"Plans", "Re: Plans"}
    assert set(_subjects(dovecot, mail_user, "INBOX")) == {"Lunch?"}
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_open_reply_reply_all_forward_and_compose_shortcuts(
    page: object, live_server: object, imap_settings: DovecotInstance, mail_user: MailUser
) -> None:
    dovecot = imap_settings
    _seed(dovecot, mail_user)
    _sign_in(page, live_server.url, mail_user)  # type: ignore[attr-defined]
    mailbox_url = page.url  # type: ignore[attr-defined]

    def open_lunch() -> None:
        page.goto(mailbox_url)  # type: ignore[attr-defined]
        page.wait_for_selector("tr.msg")  # type: ignore[attr-defined]
        page.keyboard.press("j")  # newest first: Re: Plans  # type: ignore[attr-defined]
        page.keyboard.press("j")  # Lunch?  # type: ignore[attr-defined]
        page.keyboard.press("Enter")  # type: ignore[attr-defined]
        page.wait_for_selector("#reading-pane .message-subject >> text=Lunch?")  # type: ignore[attr-defined]

    open_lunch()
    page.keyboard.press("r")  # type: ignore[attr-defined]
    page.wait_for_url("**/mail/compose/**mode=reply*")  # type: ignore[attr-defined]
    assert "bob@example.test" in page.input_value("[name=to]")  # type: ignore[attr-defined]
    assert page.input_value("[name=subject]") == "Re: Lunch?"  # type: ignore[attr-defined]

    open_lunch()
    page.keyboard.press("a")  # type: ignore[attr-defined]
    page.wait_for_url("**mode=reply-all*")  # type: ignore[attr-defined]
    everyone = page.input_value("[name=to]") + page.input_value("[name=cc]")  # type: ignore[attr-defined]
    assert "bob@example.test" in everyone and "carol@example.test" in everyone
    assert mail_user.email not in everyone  # never to yourself

    open_lunch()
    page.keyboard.press("f")  # type: ignore[attr-defined]
    page.wait_for_url("**mode=forward*")  # type: ignore[attr-defined]
    assert page.input_value("[name=to]") == ""  # type: ignore[attr-defined]
    assert page.input_value("[name=subject]") == "Fwd: Lunch?"  # type: ignore[attr-defined]

    page.goto(mailbox_url)  # type: ignore[attr-defined]
    page.wait_for_selector("tr.msg")  # type: ignore[attr-defined]
    page.keyboard.press("c")  # type: ignore[attr-defined]
    page.wait_for_url("**/mail/compose/")  # type: ignore[attr-defined]
    assert page.input_value("[name=subject]") == ""  # type: ignore[attr-defined]
