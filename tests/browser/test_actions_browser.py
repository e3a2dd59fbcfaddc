"""A person ticks messages and moves them, drags one to a folder, and uses shortcuts."""

from __future__ import annotations

import pytest

from tests.browser.refresh import refresh_now
from tests.conftest import MailUser
from tests.support.mail import append_all, imap_login, make_message
from webmail.devstack.dovecot import DovecotInstance

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _subjects(dovecot: DovecotInstance, user: MailUser, folder: str) -> dict[str, set[bytes]]:
    client = imap_login(dovecot.imap_port, user.email, user.password)
    try:
        client.select_folder(folder, readonly=True)
        data = client.fetch(client.search(["ALL"]), ["ENVELOPE", "FLAGS"])
        return {d[b"ENVELOPE"].subject.decode(): set(d[b"FLAGS"]) for d in data.values()}
    finally:
        client.logout()


def _sign_in(page: object, url: str, user: MailUser) -> None:
    page.goto(f"{url}/login/")  # type: ignore[attr-defined]
    page.fill("input[name=email]", user.email)  # type: ignore[attr-defined]
    page.fill("input[name=password]", user.password)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_selector("tr.msg")  # type: ignore[attr-defined]


def test_bulk_select_move_drag_and_shortcuts(
    page: object, live_server: object, imap_settings: DovecotInstance, mail_user: MailUser
) -> None:
    dovecot = imap_settings
    append_all(
        dovecot.imap_port,
        mail_user.email,
        mail_user.password,
        "INBOX",
        [(make_message(subject=f"Msg {i}"), [b"\\Seen"]) for i in range(5)],
    )
    c = imap_login(dovecot.imap_port, mail_user.email, mail_user.password)
    c.create_folder("Projects")
    c.subscribe_folder("Projects")
    c.logout()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)  # type: ignore[attr-defined]
    _sign_in(page, live_server.url, mail_user)  # type: ignore[attr-defined]

    # Bulk: nothing ticked, no selection actions; tick two rows, "Move to", find the folder, Enter.
    rows = page.locator("tr.msg")  # type: ignore[attr-defined]
    assert rows.count() == 5
    move_to = page.locator("button[popovertarget=move-menu]").first  # type: ignore[attr-defined]
    assert not move_to.is_visible()
    rows.nth(0).locator("input[name=uid]").check()  # newest first: Msg 4
    rows.nth(1).locator("input[name=uid]").check()  # Msg 3
    assert "checked" in (rows.nth(0).get_attribute("class") or "")
    assert page.inner_text(".selected-count") == "2 selected"  # type: ignore[attr-defined]
    move_to.click()
    page.keyboard.type("proj")  # type: ignore[attr-defined]  (the menu's filter has the focus)
    assert page.locator("#move-menu [data-folder-name]:visible").count() == 1  # type: ignore[attr-defined]
    page.keyboard.press("Enter")  # type: ignore[attr-defined]
    page.wait_for_selector("text=2 messages moved.")  # type: ignore[attr-defined]
    assert set(_subjects(dovecot, mail_user, "Projects")) == {"Msg 4", "Msg 3"}
    assert page.locator("tr.msg").count() == 3  # type: ignore[attr-defined]

    # Select all on the page, then untick: the header box drives every row.
    page.check("[data-select-all]")  # type: ignore[attr-defined]
    assert page.locator("#bulk-form input[name=uid]:checked").count() == 3  # type: ignore[attr-defined]
    page.uncheck("[data-select-all]")  # type: ignore[attr-defined]

    # Drag and drop a row onto a folder in the tree.
    page.drag_and_drop("tr.msg >> nth=0", "#folder-pane li[data-folder=Archive]")  # type: ignore[attr-defined]
    page.wait_for_selector("text=1 message moved.")  # type: ignore[attr-defined]
    assert set(_subjects(dovecot, mail_user, "Archive")) == {"Msg 2"}

    # Keyboard: j to the first row (Msg 1), s flags it, u marks it unread, # deletes it.
    page.keyboard.press("j")  # type: ignore[attr-defined]
    assert "cursor" in (page.locator("tr.msg").nth(0).get_attribute("class") or "")  # type: ignore[attr-defined]
    page.keyboard.press("s")  # type: ignore[attr-defined]
    page.wait_for_selector("text=1 message flagged.")  # type: ignore[attr-defined]
    assert b"\\Flagged" in _subjects(dovecot, mail_user, "INBOX")["Msg 1"]
    # The cursor survives the page refresh that followed the action.
    assert "cursor" in (page.locator("tr.msg").nth(0).get_attribute("class") or "")  # type: ignore[attr-defined]
    page.keyboard.press("u")  # type: ignore[attr-defined]
    page.wait_for_selector("text=1 message marked unread.")  # type: ignore[attr-defined]
    assert b"\\Seen" not in _subjects(dovecot, mail_user, "INBOX")["Msg 1"]
    page.keyboard.press("#")  # type: ignore[attr-defined]
    page.wait_for_selector("text=1 message moved to Trash.")  # type: ignore[attr-defined]
    assert set(_subjects(dovecot, mail_user, "Trash")) == {"Msg 1"}

    # Another device reads and deletes mail; the periodic refresh (fired here
    # at once instead of waiting 45 s) updates the list, the tree and the title.
    other = imap_login(dovecot.imap_port, mail_user.email, mail_user.password)
    other.select_folder("INBOX")
    assert not page.title().startswith("(")  # type: ignore[attr-defined]
    other.remove_flags(other.search(["ALL"]), [b"\\Seen"])
    refresh_now(page)
    page.wait_for_selector("tr.msg.unread")  # type: ignore[attr-defined]
    page.wait_for_function("document.title.startsWith('(1) ')")  # type: ignore[attr-defined]
    assert page.locator("#folder-pane li[data-folder=INBOX] .unread-count").inner_text() == "1"  # type: ignore[attr-defined]
    other.add_flags(other.search(["ALL"]), [b"\\Deleted"])
    other.expunge()
    other.logout()
    refresh_now(page)
    page.wait_for_selector("text=This folder is empty.")  # type: ignore[attr-defined]
    page.wait_for_function("!document.title.startsWith('(')")  # type: ignore[attr-defined]

    # ? shows the help, / jumps to the search box; Enter searches on the server.
    page.keyboard.press("?")  # type: ignore[attr-defined]
    assert page.locator("#shortcut-help").is_visible()  # type: ignore[attr-defined]
    page.keyboard.press("Escape")  # type: ignore[attr-defined]
    page.keyboard.press("/")  # type: ignore[attr-defined]
    assert page.evaluate("document.activeElement.name") == "q"  # type: ignore[attr-defined]
    page.keyboard.type("Msg 0")  # type: ignore[attr-defined]
    page.keyboard.press("Enter")  # type: ignore[attr-defined]
    page.wait_for_selector("text=0 matches in this folder.")  # type: ignore[attr-defined]
    assert not [e for e in errors if "Content Security Policy" in e], errors
