"""Keyboard, issue 15: j/k move to and open the next message while one is open; # and e act
on the open message and open the next; the list keeps its place after a delete; focus is
visible on what the keyboard reaches."""

from __future__ import annotations

import pytest

from tests.conftest import MailUser
from webmail.devstack.dovecot import DovecotInstance

from .test_mailbox_interface import LAPTOP, _flags, _open, _seed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OPEN_UID = "document.querySelector('#reading-pane article.message').dataset.uid"


def _row_uid(page: object, n: int) -> str:
    return page.locator("tr.msg").nth(n).get_attribute("data-uid")  # type: ignore[attr-defined]


def _wait_open(page: object, uid: str) -> None:
    page.wait_for_selector(f'#reading-pane article.message[data-uid="{uid}"]')  # type: ignore[attr-defined]


def test_j_k_open_the_next_message_and_delete_keeps_the_place(
    browser: object, live_server: object, imap_settings: DovecotInstance, mail_user: MailUser
) -> None:
    _seed(imap_settings, mail_user, 30)
    page = _open(browser, live_server.url, mail_user, LAPTOP)  # type: ignore[attr-defined]
    first, second, third, fourth = (_row_uid(page, n) for n in range(4))

    # Without an open message j/k only move the cursor.
    page.keyboard.press("j")
    assert page.locator("tr.msg.cursor").get_attribute("data-uid") == first
    assert page.locator("#reading-pane article.message").count() == 0
    page.keyboard.press("Enter")
    _wait_open(page, first)
    page.locator("h1.folder-title").click()  # the keys go back to the page
    # With a message open, j and k open the next and the previous one.
    page.keyboard.press("j")
    _wait_open(page, second)
    page.keyboard.press("j")
    _wait_open(page, third)
    page.keyboard.press("k")
    _wait_open(page, second)

    # # deletes the open message and opens the one that took its place; the list stays put.
    page.evaluate("document.getElementById('list-pane').scrollTop = 0")
    subject = page.locator(f'tr.msg[data-uid="{second}"] a.open').inner_text()
    page.keyboard.press("#")
    page.wait_for_selector("#toasts >> text=1 message moved to Trash.")
    _wait_open(page, third)
    assert page.locator(f'tr.msg[data-uid="{second}"]').count() == 0
    assert page.locator("tr.msg.cursor").get_attribute("data-uid") == third
    assert page.locator("tr.msg").nth(1).get_attribute("data-uid") == third
    assert subject in _flags(imap_settings, mail_user, "Trash")
    # e archives the open one the same way.
    page.keyboard.press("e")
    page.wait_for_selector("#toasts >> text=1 message archived.")
    _wait_open(page, fourth)
    assert not page.errors  # type: ignore[attr-defined]
    page.context.close()


def test_focus_is_visible_and_every_row_action_is_reachable_by_tab(
    browser: object, live_server: object, imap_settings: DovecotInstance, mail_user: MailUser
) -> None:
    _seed(imap_settings, mail_user, 3)
    page = _open(browser, live_server.url, mail_user, LAPTOP)  # type: ignore[attr-defined]
    page.locator("tr.msg").first.locator("td.check input").focus()
    reached: list[str] = []
    for _ in range(8):
        page.keyboard.press("Tab")
        info = page.evaluate(
            """() => {
              const el = document.activeElement;
              const own = getComputedStyle(el).outlineStyle;
              const after = getComputedStyle(el, '::after').outlineStyle;
              const name = el.tagName + '.' + (el.className.baseVal ?? el.className);
              const action = el.getAttribute('data-row-action') || '';
              return [name + ':' + action, own !== 'none' || after !== 'none'];
            }"""
        )
        reached.append(info[0])
        assert info[1], f"no visible focus on {info[0]}"
    text = " ".join(reached)
    assert "star" in text and "A.open" in text
    for action in ("archive", "delete", "read"):
        assert f":{action}" in text, reached
    # ? lists the shortcuts, j/k among them.
    page.keyboard.press("Escape")
    page.locator("h1.folder-title").click()
    page.keyboard.press("?")
    assert "j" in page.locator("#shortcut-help").inner_text()
    assert not page.errors  # type: ignore[attr-defined]
    page.context.close()
