"""In Chromium: the sharing dialog of a folder, opened from its menu in Manage folders; what it
does is checked on the server (GETACL) and in the other person's folder tree."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.steps import sign_in
from tests.conftest import MailUser
from tests.support.mail import append_all, imap_login, make_message
from webmail.devstack.dovecot import DovecotInstance
from webmail.mailaccess.acl import Rights

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def acl_of(dovecot: DovecotInstance, user: MailUser, folder: str) -> dict[str, frozenset[str]]:
    client = imap_login(dovecot.imap_port, user.email, user.password)
    try:
        return {who.decode(): Rights.parse(what.decode()).letters for who, what in client.getacl(folder)}
    finally:
        client.logout()


@pytest.mark.parametrize("viewport", [{"width": 1366, "height": 768}, {"width": 390, "height": 844}])
def test_share_change_and_withdraw_in_the_dialog(
    page: Any,
    live_server: Any,
    imap_settings: DovecotInstance,
    make_user: Callable[..., MailUser],
    viewport: dict[str, int],
) -> None:
    dovecot = imap_settings
    owner, friend = make_user("owner"), make_user("friend")
    append_all(dovecot.imap_port, owner.email, owner.password, "Équipe", [(make_message(subject="Plan"), [])])
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    p, base = page, live_server.url
    p.set_viewport_size(viewport)
    sign_in(p, base, owner)

    p.goto(f"{base}/settings/folders/")
    row = p.locator('li[data-folder="Équipe"]')
    row.locator("button[popovertarget^=folder-menu]").click()
    row.get_by_role("link", name="Share…").click()
    p.wait_for_url(re.compile(r".*/settings/sharing/folder/.*"))
    dialog = p.locator("[data-share-dialog]")
    assert dialog.get_attribute("data-folder") == "Équipe"
    assert "Read and unread stay personal" in dialog.inner_text()
    assert p.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    dialog.locator("form.share-form input[name=address]").fill(friend.email)
    dialog.locator("form.share-form select[name=level]").select_option("organise")
    dialog.locator("form.share-form button[type=submit]").click()
    p.wait_for_selector(f'li[data-who="{friend.email}"]')
    assert acl_of(dovecot, owner, "Équipe")[friend.email] == set("lrsw")
    grant = p.locator(f'li[data-who="{friend.email}"]')
    assert grant.locator("select[name=level]").input_value() == "organise"

    grant.locator("select[name=level]").select_option("full")
    grant.get_by_role("button", name="Change").click()
    p.wait_for_selector("text=Full control (may share further).")
    assert acl_of(dovecot, owner, "Équipe")[friend.email] == set("lrswipkxtea")

    # The friend, in a browser of their own, finds it under "Shared with me".
    other = p.context.browser.new_context(viewport=viewport)
    q = other.new_page()
    sign_in(q, base, friend)
    tree = q.locator("#folder-pane")
    assert "Shared with me" in (tree.text_content() or "")  # in the drawer on a phone
    assert q.locator('#folder-pane li[data-folder$="/Équipe"]').count() == 1
    other.close()

    p.locator(f'li[data-who="{friend.email}"]').get_by_role("button", name="Withdraw").click()
    p.wait_for_selector("text=Only you can see this folder.")
    assert friend.email not in acl_of(dovecot, owner, "Équipe")

    p.goto(f"{base}/settings/sharing/")
    assert p.locator("text=You share no folder yet.").count() == 1
    assert errors == []
