"""Conversations in the browser, and the shortcuts that open, answer and write mail."""

from __future__ import annotations

import time

import pytest

from tests.browser.refresh import refresh_now
from tests.conftest import MailUser
from tests.support.mail import append_all, dated, imap_login, make_message
from webmail.devstack.dovecot import DovecotInstance

from .test_actions_browser import _sign_in, _subjects

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _seed(dovecot: DovecotInstance, user: MailUser) -> None:
    def reply(subject: str, mid: str, parent: str, i: int) -> bytes:
        refs = {"In-Reply-To": f"<{parent}>", "References": f"<root@t> <{parent}>"}
        return make_message(
            subject=subject, message_id=f"<{mid}>", date=dated(i), to=user.email, headers=refs
        )

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
            (reply("Re: Plans", "r1@t", "root@t", 3), []),
            (reply("Re: Plans (2)", "r2@t", "r1@t", 4), []),
        ],
    )


def _until(page: object, expression: str, timeout: float = 15.0) -> None:
    """Poll a JS expression with page.evaluate (wait_for_function's in-page eval is refused by our CSP)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.05)


def _cursor(page: object) -> str:
    return page.get_attribute("tr.msg.cursor", "data-row") or ""  # type: ignore[attr-defined]


def test_conversation_view_opens_moves_through_and_acts_on_threads(
    page: object, live_server: object, imap_settings: DovecotInstance, mail_user: MailUser
) -> None:
    dovecot = imap_settings
    _seed(dovecot, mail_user)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)  # type: ignore[attr-defined]
    _sign_in(page, live_server.url, mail_user)  # type: ignore[attr-defined]
    assert page.locator("tr.msg").count() == 4  # type: ignore[attr-defined]

    page.click(".view-toggle a")  # type: ignore[attr-defined]
    page.wait_for_selector(".view-toggle [aria-current][data-view=threads]")  # type: ignore[attr-defined]
    assert page.locator("tr.msg:visible").count() == 2  # the Plans thread and Lunch  # type: ignore[attr-defined]
    assert page.locator("tr.msg.conv .count").first.inner_text() == "3"  # type: ignore[attr-defined]

    # The badge fetches the conversation's rows; a second click folds them away.
    page.click("[data-thread-toggle]")  # type: ignore[attr-defined]
    page.wait_for_selector("tr.thread-child >> nth=2")  # type: ignore[attr-defined]
    assert page.locator("tr.msg.thread-child:visible").count() == 3  # type: ignore[attr-defined]
    page.click("[data-thread-toggle]")  # type: ignore[attr-defined]
    assert page.locator("tr.msg.thread-child:visible").count() == 0  # type: ignore[attr-defined]

    # x opens it from the keyboard; j walks into it and s flags one message only.
    page.keyboard.press("j")  # type: ignore[attr-defined]
    assert _cursor(page).startswith("c")
    page.keyboard.press("x")  # type: ignore[attr-defined]
    page.wait_for_selector("tr.msg.thread-child:visible >> nth=2")  # type: ignore[attr-defined]
    page.keyboard.press("j")  # type: ignore[attr-defined]
    page.keyboard.press("j")  # type: ignore[attr-defined]
    assert _cursor(page).startswith("t")
    page.keyboard.press("s")  # type: ignore[attr-defined]
    page.wait_for_selector("text=1 message flagged.")  # type: ignore[attr-defined]
    flags = _subjects(dovecot, mail_user, "INBOX")
    assert b"\\Flagged" in flags["Re: Plans"] and b"\\Flagged" not in flags["Plans"]

    # After the redraw the conversation is open again; its first message is dragged to Archive.
    page.wait_for_selector("tr.msg.thread-child:visible >> nth=2")  # type: ignore[attr-defined]
    assert page.locator("tr.msg.thread-child").first.get_attribute("draggable") == "true"  # type: ignore[attr-defined]
    page.drag_and_drop("tr.msg.thread-child >> nth=0", "#folder-pane li[data-folder=Archive]")  # type: ignore[attr-defined]
    page.wait_for_selector("text=1 message moved.")  # type: ignore[attr-defined]
    assert set(_subjects(dovecot, mail_user, "Archive")) == {"Plans"}

    # e on the conversation row archives what is left of it.
    page.locator("tr.msg.conv a.open").first.click()  # type: ignore[attr-defined]
    page.keyboard.press("Escape")  # type: ignore[attr-defined]
    page.locator("h1.folder-title").click()  # type: ignore[attr-defined]  (somewhere that does nothing)
    assert _cursor(page).startswith("c")
    page.keyboard.press("e")  # type: ignore[attr-defined]
    page.wait_for_selector("text=2 messages archived.")  # type: ignore[attr-defined]
    assert set(_subjects(dovecot, mail_user, "Archive")) == {"Plans", "Re: Plans", "Re: Plans (2)"}
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
        for _ in range(3):  # newest first: Re: Plans (2), Re: Plans, Lunch?
            page.keyboard.press("j")  # type: ignore[attr-defined]
        page.keyboard.press("Enter")  # type: ignore[attr-defined]
        page.wait_for_selector("#reading-pane .message-subject >> text=Lunch?")  # type: ignore[attr-defined]

    # The compose panel opens over the mailbox: the list and the message stay where they are.
    panel = "#compose-panel form.compose-form"
    open_lunch()
    page.keyboard.press("r")  # type: ignore[attr-defined]
    page.wait_for_selector(f"{panel}[data-mode=reply]")  # type: ignore[attr-defined]
    assert "bob@example.test" in page.input_value(".compose-form [name=to]")  # type: ignore[attr-defined]
    assert page.input_value(".compose-form [name=subject]") == "Re: Lunch?"  # type: ignore[attr-defined]
    assert page.evaluate("document.activeElement.name") == "text"  # the cursor is in the body
    assert page.locator("#reading-pane .message-subject >> text=Lunch?").is_visible()  # type: ignore[attr-defined]

    open_lunch()
    page.keyboard.press("a")  # type: ignore[attr-defined]
    page.wait_for_selector(f"{panel}[data-mode=reply-all]")  # type: ignore[attr-defined]
    everyone = page.input_value(".compose-form [name=to]") + page.input_value(".compose-form [name=cc]")  # type: ignore[attr-defined]
    assert "bob@example.test" in everyone and "carol@example.test" in everyone
    assert mail_user.email not in everyone  # never to yourself

    open_lunch()
    page.keyboard.press("f")  # type: ignore[attr-defined]
    page.wait_for_selector(f"{panel}[data-mode=forward]")  # type: ignore[attr-defined]
    assert page.input_value(".compose-form [name=to]") == ""  # type: ignore[attr-defined]
    assert page.input_value(".compose-form [name=subject]") == "Fwd: Lunch?"  # type: ignore[attr-defined]

    page.goto(mailbox_url)  # type: ignore[attr-defined]
    page.wait_for_selector("tr.msg")  # type: ignore[attr-defined]
    page.keyboard.press("c")  # type: ignore[attr-defined]
    page.wait_for_selector(f"{panel}[data-mode=new]")  # type: ignore[attr-defined]
    assert page.input_value(".compose-form [name=subject]") == ""  # type: ignore[attr-defined]
    assert page.evaluate("document.activeElement.id") == "id_to"  # a new message starts with "To"


def test_several_conversations_opened_at_once_all_get_their_rows_and_keep_them_after_a_refresh(
    page: object, live_server: object, imap_settings: DovecotInstance, mail_user: MailUser
) -> None:
    dovecot = imap_settings
    messages = []
    for t in range(3):
        messages.append((make_message(subject=f"Topic {t}", message_id=f"<t{t}@t>", date=dated(2 * t)), []))
        reply = {"In-Reply-To": f"<t{t}@t>", "References": f"<t{t}@t>"}
        messages.append((make_message(subject=f"Re: Topic {t}", date=dated(2 * t + 1), headers=reply), []))
    append_all(dovecot.imap_port, mail_user.email, mail_user.password, "INBOX", messages)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))  # type: ignore[attr-defined]
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)  # type: ignore[attr-defined]
    _sign_in(page, live_server.url, mail_user)  # type: ignore[attr-defined]
    page.goto(f"{live_server.url}/mail/?view=threads")  # type: ignore[attr-defined]
    page.wait_for_selector("[data-thread-toggle]")  # type: ignore[attr-defined]

    # Three clicks in the same tick: no request may swallow another.
    page.evaluate("document.querySelectorAll('[data-thread-toggle]').forEach(b => b.click())")  # type: ignore[attr-defined]
    _until(page, "document.querySelectorAll('tr.thread-child:not([hidden])').length === 6")
    expanded = page.eval_on_selector_all(  # type: ignore[attr-defined]
        "[data-thread-toggle]", "bs => bs.map(b => b.getAttribute('aria-expanded'))"
    )
    assert expanded == ["true", "true", "true"]

    # Another device reads a message; the refresh redraws the list and the three stay open.
    other = imap_login(dovecot.imap_port, mail_user.email, mail_user.password)
    other.select_folder("INBOX")
    other.add_flags(other.search(["ALL"])[:1], [b"\\Seen"])
    other.logout()
    refresh_now(page)
    _until(
        page,
        "document.querySelectorAll('tr.msg.conv:not(.unread)').length === 0 || "
        "document.querySelectorAll('tr.msg.thread-child:not(.unread)').length === 1",
    )
    _until(page, "document.querySelectorAll('tr.thread-child:not([hidden])').length === 6")
    page.wait_for_timeout(500)  # a late duplicate load would add rows now
    assert page.locator("tr.thread-child").count() == 6  # type: ignore[attr-defined]
    assert not errors, errors
