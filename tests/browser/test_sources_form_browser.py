"""The accounts page and the add form with IMAP, at laptop and phone size: choosing IMAP shows the
folders field and moves the port, an IMAP account is added against the test Dovecot, and nothing
is wider than the window or errs in the console."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.steps import assert_fits, script_errors, sign_in
from tests.conftest import MailUser
from webmail.devstack.dovecot import DovecotInstance
from webmail.imports.models import ExternalAccount

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("size", [(1366, 768), (390, 844)], ids=["laptop", "phone"])
def test_adding_an_imap_account_in_the_browser(
    size: tuple[int, int],
    browser: Any,
    live_server: Any,
    imap_settings: DovecotInstance,
    make_user: Callable[..., MailUser],
    settings: Any,
) -> None:
    settings.WEBMAIL_POP_ALLOWED_HOSTS = ["127.0.0.1"]
    owner, external = make_user("former"), make_user("imapsrc")
    imap_settings.write_messages(external.email, "Work", [b"Subject: hi\nMessage-ID: <w@x>\n\nbody\n"])
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    p = context.new_page()
    errors = script_errors(p)
    base = live_server.url

    sign_in(p, base, owner)
    p.goto(f"{base}/settings/accounts/")
    assert_fits(p)
    assert p.locator(".archive-form input[type=file]").count() == 1
    p.click(".pop-add")  # the POP3 form first: no folders field
    p.wait_for_url(re.compile(r".*/settings/accounts/add/"))
    p.wait_for_load_state("load")  # its script has run
    p.locator("[data-imap-only]").wait_for(state="hidden", timeout=10_000)
    assert p.input_value("input[name=port]") == "995"
    p.check("input[name=protocol][value=imap]")
    p.locator("[data-imap-only]").wait_for(state="visible", timeout=10_000)
    assert p.input_value("input[name=port]") == "993"  # the usual port follows the choice
    p.fill("input[name=email]", external.email)
    p.fill("input[name=host]", "127.0.0.1")
    p.check("input[name=security][value=starttls]")
    assert p.input_value("input[name=port]") == "143"
    p.fill("input[name=port]", str(imap_settings.imap_port))
    p.fill("input[name=username]", external.email)
    p.fill("input[name=password]", external.password)
    p.fill("textarea[name=folders]", "Work")
    assert_fits(p)
    p.click("button.primary")
    p.wait_for_selector("text=messages on the server")
    account = ExternalAccount.objects.get(user__username=owner.email)
    assert (account.protocol, account.folders) == ("imap", "Work")
    assert p.locator(".pop-protocol", has_text="IMAP").count() == 1
    assert_fits(p)
    assert not errors, errors
    context.close()
