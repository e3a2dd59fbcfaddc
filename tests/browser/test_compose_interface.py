"""Writing, issue 15: the compose panel keeps the user's place in the list (a page of its own on
a phone); recipients become chips with suggestions; files are attached by picker, drop or
paste, each with a progress bar; Ctrl+Enter sends; closing keeps a draft."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import pytest

from tests.browser.compose import add_recipient
from tests.conftest import MailUser
from tests.support.mail import read_folder
from tests.support.smtpd import SubmissionServer
from webmail.devstack.dovecot import DovecotInstance

from .test_mailbox_interface import LAPTOP, PHONE, _open, _seed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PANEL = "#compose-panel form.compose-form"
DROP = """([selector, kind]) => {
  const target = document.querySelector(selector);
  const data = new DataTransfer();
  data.items.add(new File(["hello from " + kind], kind + ".txt", {type: "text/plain"}));
  const event = kind === "dropped"
    ? new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true})
    : new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true});
  target.dispatchEvent(event);
}"""


def _known(user: MailUser, *addresses: tuple[str, str]) -> None:
    from django.contrib.auth import get_user_model

    from webmail.compose.addresses import remember
    from webmail.messages.decode import Address

    owner = get_user_model().objects.get(username=user.email)
    remember(owner, [Address(name, email) for name, email in addresses])


def test_panel_chips_attachments_and_ctrl_enter_keep_the_list_in_place(
    browser: object,
    live_server: object,
    imap_settings: DovecotInstance,
    mail_user: MailUser,
    sending: SubmissionServer,
    tmp_path: Path,
) -> None:
    _seed(imap_settings, mail_user, 30)
    page = _open(browser, live_server.url, mail_user, LAPTOP)  # type: ignore[attr-defined]
    _known(mail_user, ("Zoé Martin", "zoe@example.test"), ("Zack", "zack@example.test"))
    page.evaluate("document.getElementById('list-pane').scrollTop = 500")
    page.locator("tr.msg").nth(10).locator("a.open").click()
    page.wait_for_selector("#reading-pane article.message")

    page.click("a.compose-button")
    page.wait_for_selector(f"{PANEL}[data-mode=new]")
    assert page.evaluate("document.activeElement.id") == "id_to"
    # Suggestions as one types; Enter takes the first, the arrows choose another.
    page.keyboard.type("zo")
    option = page.locator(f"{PANEL} [role=listbox] [role=option]")
    option.first.wait_for()
    assert option.count() == 1 and "zoe@example.test" in option.first.inner_text()
    page.keyboard.press("Enter")
    chips = page.locator(f"{PANEL} .field-to .chip")
    assert chips.count() == 1 and chips.first.inner_text().strip() == "Zoé Martin"
    # Several at once, separated as people type them; Backspace takes the last one back.
    page.keyboard.type("carol@example.test; dave@example.test,")
    assert chips.count() == 3
    page.keyboard.press("Backspace")
    assert chips.count() == 2 and page.input_value(f"{PANEL} .field-to .chip-input") == "dave@example.test"
    page.keyboard.type(",")
    to_value = page.input_value(f"{PANEL} input[name=to]")
    assert "zoe@example.test" in to_value and "dave@example.test" in to_value and to_value.count("@") == 3

    page.fill(f"{PANEL} input[name=subject]", "Plans")
    page.fill(f"{PANEL} textarea[name=text]", "See the files.")
    # Attach by the picker (with a progress bar while it goes up), by dropping and by pasting.
    report = tmp_path / "report.bin"
    report.write_bytes(b"\1" * 3_000_000)
    held: list[object] = []
    page.route("**/mail/compose/upload/", lambda route: held.append(route))
    page.set_input_files(f"{PANEL} input[name=attachments]", [str(report)])
    uploading = page.locator(f"{PANEL} #attachment-list li.uploading progress")
    uploading.wait_for()
    assert page.locator(f"{PANEL} button[value=send]").is_disabled()
    held[0].continue_()  # type: ignore[attr-defined]
    page.unroute("**/mail/compose/upload/")
    page.wait_for_selector(f"{PANEL} #attachment-list li[data-token]")
    assert uploading.count() == 0
    page.evaluate(DROP, [PANEL, "dropped"])
    page.evaluate(DROP, [f"{PANEL} textarea", "pasted"])
    page.wait_for_selector(f"{PANEL} #attachment-list li[data-token] >> nth=2")

    # Ctrl+Enter sends; the panel closes with a notice; the list and the message stayed.
    before = len(sending.recorder.messages)
    page.focus(f"{PANEL} textarea[name=text]")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#toasts >> text=Message sent.")
    assert page.locator("#compose-panel").is_hidden()
    assert len(sending.recorder.messages) == before + 1
    sent = message_from_bytes(sending.recorder.messages[-1].data, policy=policy.default)
    assert "zoe@example.test" in str(sent["To"]) and "carol@example.test" in str(sent["To"])
    names = sorted(a.get_filename() for a in sent.iter_attachments())
    assert names == ["dropped.txt", "pasted.txt", "report.bin"]
    assert page.evaluate("document.getElementById('list-pane').scrollTop") == 500
    assert page.locator("#reading-pane article.message").is_visible()
    assert not [e for e in page.errors if "Content Security Policy" in e]  # type: ignore[attr-defined]
    page.context.close()


def test_closing_the_panel_keeps_a_draft_and_never_loses_text(
    browser: object, live_server: object, imap_settings: DovecotInstance, mail_user: MailUser
) -> None:
    _seed(imap_settings, mail_user, 2)
    page = _open(browser, live_server.url, mail_user, LAPTOP)  # type: ignore[attr-defined]
    page.click("a.compose-button")
    page.wait_for_selector(PANEL)
    page.keyboard.type("bob@")  # half an address: no draft can hold it yet
    page.fill(f"{PANEL} textarea[name=text]", "Words worth keeping")
    page.click("#compose-panel [data-compose-close]")
    page.wait_for_selector("#toasts .notice-error")
    assert page.locator("#compose-panel").is_visible()  # kept open, text and all
    assert page.input_value(f"{PANEL} textarea[name=text]") == "Words worth keeping"
    page.locator(f"{PANEL} .field-to .chip-remove").click()
    add_recipient(page, "to", "bob@example.test", scope=PANEL)
    page.click("#compose-panel [data-compose-close]")
    page.wait_for_selector("#toasts >> text=Draft saved.")
    assert page.locator("#compose-panel").is_hidden()
    drafts = read_folder(imap_settings, mail_user, "Drafts")
    assert any(b"Words worth keeping" in raw for _uid, _flags, raw in drafts)
    page.context.close()


def test_on_a_phone_writing_is_a_page_of_its_own(
    browser: object, live_server: object, imap_settings: DovecotInstance, mail_user: MailUser
) -> None:
    _seed(imap_settings, mail_user, 2)
    page = _open(browser, live_server.url, mail_user, PHONE, is_mobile=True, has_touch=True)  # type: ignore[attr-defined]
    page.click(".fab")
    page.wait_for_url("**/mail/compose/")
    page.wait_for_selector("main form.compose-form [data-chips-for=id_to]")
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    assert not page.errors  # type: ignore[attr-defined]
    page.context.close()
