"""Settings, issue 15: sections with their own navigation, and folders managed from a menu on
each folder (rename, move, show or hide, delete) instead of a table of open text boxes."""

from __future__ import annotations

import pytest

from tests.conftest import MailUser
from tests.support.mail import append_all, imap_login, make_message
from webmail.devstack.dovecot import DovecotInstance

from .test_mailbox_interface import LAPTOP, PHONE, _open

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _folders(dovecot: DovecotInstance, user: MailUser) -> set[str]:
    client = imap_login(dovecot.imap_port, user.email, user.password)
    try:
        return {name for _flags, _delim, name in client.list_folders()}
    finally:
        client.logout()


def test_settings_sections_have_their_own_navigation(
    browser: object, live_server: object, imap_settings: DovecotInstance, mail_user: MailUser
) -> None:
    append_all(
        imap_settings.imap_port,
        mail_user.email,
        mail_user.password,
        "INBOX",
        [(make_message(subject="x"), [])],
    )
    for viewport in (LAPTOP, PHONE):
        page = _open(browser, live_server.url, mail_user, viewport)  # type: ignore[attr-defined]
        page.goto(f"{live_server.url}/settings/")  # type: ignore[attr-defined]
        nav = page.locator(".settings-nav a")
        sections = [nav.nth(i).get_attribute("data-section") for i in range(nav.count())]
        assert sections[:4] == ["general", "identities", "accounts", "folders"]
        for section, heading in (
            ("identities", "Identities and send mail as"),
            ("accounts", None),
            ("folders", "Folders"),
        ):
            page.click(f".settings-nav a[data-section={section}]")
            page.wait_for_selector(f".settings-nav a[data-section={section}][aria-current=page]")
            if heading:
                assert page.locator("main.settings h1").inner_text() == heading
            assert (
                page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
                <= 0
            )
        assert not page.errors  # type: ignore[attr-defined]
        page.context.close()


def test_folders_are_renamed_moved_and_deleted_from_their_menu(
    browser: object, live_server: object, imap_settings: DovecotInstance, mail_user: MailUser
) -> None:
    client = imap_login(imap_settings.imap_port, mail_user.email, mail_user.password)
    for name in ("Clients", "Old"):
        client.create_folder(name)
        client.subscribe_folder(name)
    client.logout()
    for folder in ("INBOX", "Old"):
        append_all(
            imap_settings.imap_port,
            mail_user.email,
            mail_user.password,
            folder,
            [(make_message(subject="x"), [])],
        )
    page = _open(browser, live_server.url, mail_user, LAPTOP)  # type: ignore[attr-defined]
    page.goto(f"{live_server.url}/settings/folders/")  # type: ignore[attr-defined]
    assert page.locator("main input[type=text]:visible").count() == 0  # no open text boxes

    row = page.locator("li[data-folder=Clients]")
    row.locator("button[popovertarget^=folder-menu]").click()
    page.locator(".menu:popover-open .menu-item", has_text="Rename").click()
    page.fill(".popover:popover-open input[name=name]", "Customers")
    page.keyboard.press("Enter")
    page.wait_for_selector("#toasts >> text=Folder renamed to “Customers”.")
    assert "Customers" in _folders(imap_settings, mail_user)

    page.locator("li[data-folder=Customers] button[popovertarget^=folder-menu]").click()
    page.locator(".menu:popover-open .menu-item", has_text="Move to").click()
    page.select_option(".popover:popover-open select[name=parent]", "Old")
    page.click(".popover:popover-open button[type=submit]")
    page.wait_for_selector("#toasts >> text=Folder renamed to “Old/Customers”.")

    page.locator("li[data-folder='Old/Customers'] button[popovertarget^=folder-menu]").click()
    page.locator(".menu:popover-open .menu-item", has_text="Delete").click()
    page.click(".popover:popover-open button[type=submit]")
    page.wait_for_selector("#toasts >> text=Folder “Old/Customers” deleted.")
    # A folder with mail asks for a confirmation before its messages go.
    page.locator("li[data-folder=Old] button[popovertarget^=folder-menu]").click()
    page.locator(".menu:popover-open .menu-item", has_text="Delete").click()
    page.check(".popover:popover-open input[name=confirm]")
    page.click(".popover:popover-open button[type=submit]")
    page.wait_for_selector("#toasts >> text=Folder “Old” deleted.")
    assert not {"Old", "Old/Customers", "Clients", "Customers"} & _folders(imap_settings, mail_user)
    assert not page.errors  # type: ignore[attr-defined]
    page.context.close()
