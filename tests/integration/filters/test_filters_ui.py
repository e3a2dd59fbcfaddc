"""Filters made in the settings pages, kept on Dovecot as Sieve, and run by it on delivered mail."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.conftest import MailUser
from tests.integration.filters.conftest import active_script, deliver, put_script
from tests.support.mail import imap_login, make_message
from webmail.devstack.dovecot import DovecotInstance

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
URL = "/settings/filters/"


def version_of(web: Client) -> str:
    page = web.get(URL)
    assert page.status_code == 200, page.content[:500]
    return page.context["version"]


def make_folder(dovecot: DovecotInstance, user: MailUser, name: str) -> None:
    client = imap_login(dovecot.imap_port, user.email, user.password)
    try:
        client.create_folder(name)
    finally:
        client.logout()


def folder_flags(dovecot: DovecotInstance, user: MailUser, folder: str) -> dict[str, set[bytes]]:
    """Subject -> flags of every message in ``folder``."""
    client = imap_login(dovecot.imap_port, user.email, user.password)
    try:
        client.select_folder(folder, readonly=True)
        uids = client.search(["ALL"])
        data = client.fetch(uids, ["FLAGS", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]"]) if uids else {}
    finally:
        client.logout()
    found = {}
    for item in data.values():
        subject = item[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip()
        # The attachment keywords Dovecot sets at delivery are not the filter's doing.
        found[subject] = set(item[b"FLAGS"]) - {b"\\Recent", b"$HasAttachment", b"$HasNoAttachment"}
    return found


def new_filter(web: Client, **fields: Any) -> Any:
    form = {"version": version_of(web), "larger_unit": "1048576", "smaller_unit": "1048576"}
    form.update(fields)
    return web.post(URL + "new/", form)


def test_a_filter_made_in_the_form_files_delivered_mail_and_is_shown_in_words(
    web: Client, mail_user: MailUser, dovecot: DovecotInstance
) -> None:
    make_folder(dovecot, mail_user, "Bank")
    response = new_filter(web, name="Bank", sender="bank", move_to="Bank", mark_read="on")
    assert response.status_code == 302, response.content.decode()[:2000]

    script = active_script(dovecot, mail_user)
    assert 'header :contains "from" "bank"' in script and 'fileinto "Bank"' in script
    page = web.get(URL).content.decode()
    assert "From contains “bank” → move to Bank, mark read" in page

    for n, sender in enumerate(["alerts@mybank.test", "friend@example.test"]):
        raw = make_message(subject=f"Message {n}", sender=sender, to=mail_user.email)
        deliver(dovecot, mail_user.email, raw, sender=sender)
    assert folder_flags(dovecot, mail_user, "Bank") == {"Message 0": {b"\\Seen"}}
    assert folder_flags(dovecot, mail_user, "INBOX") == {"Message 1": set()}


def test_reorder_pause_edit_and_delete(web: Client, mail_user: MailUser, dovecot: DovecotInstance) -> None:
    make_folder(dovecot, mail_user, "News")
    assert new_filter(web, sender="one", star="on").status_code == 302
    assert new_filter(web, subject="two", move_to="News").status_code == 302

    assert web.post(URL + "1/up/", {"version": version_of(web)}).status_code == 302
    script = active_script(dovecot, mail_user)
    assert script.index('"two"') < script.index('"one"')

    assert web.post(URL + "0/pause/", {"version": version_of(web)}).status_code == 302
    assert "if false {" in active_script(dovecot, mail_user)
    page = web.get(URL).content.decode()
    assert "(paused)" in page
    # Paused: the server no longer files "two" into News.
    deliver(
        dovecot, mail_user.email, make_message(subject="two", to=mail_user.email), sender="a@example.test"
    )
    assert folder_flags(dovecot, mail_user, "News") == {}

    edit = web.get(URL + "0/edit/")
    assert edit.status_code == 200 and edit.context["form"].initial["subject"] == "two"
    form = {
        "version": version_of(web),
        "subject": "three",
        "move_to": "News",
        "larger_unit": "1",
        "smaller_unit": "1",
    }
    assert web.post(URL + "0/edit/", form).status_code == 302
    script = active_script(dovecot, mail_user)
    assert '"three"' in script and '"two"' not in script and "if false {" in script  # still paused

    assert web.post(URL + "0/delete/", {"version": version_of(web)}).status_code == 302
    script = active_script(dovecot, mail_user)
    assert '"three"' not in script and '"one"' in script


def test_a_change_made_elsewhere_is_seen_and_never_written_over(
    web: Client, mail_user: MailUser, dovecot: DovecotInstance
) -> None:
    assert new_filter(web, sender="first", star="on").status_code == 302
    stale = version_of(web)
    # A second client (another device) changes the script on the server.
    other = active_script(dovecot, mail_user).replace('"first"', '"changed-elsewhere"')
    put_script(dovecot, mail_user, other, name="webmail")
    assert "From contains “changed-elsewhere”" in web.get(URL).content.decode()

    response = web.post(URL + "0/delete/", {"version": stale}, follow=True)
    assert "changed elsewhere" in response.content.decode()
    assert active_script(dovecot, mail_user) == other


def test_a_folder_that_no_longer_exists_is_refused_in_words(
    web: Client, mail_user: MailUser, dovecot: DovecotInstance
) -> None:
    assert new_filter(web, sender="keep", star="on").status_code == 302
    before = active_script(dovecot, mail_user)
    response = new_filter(web, sender="x", move_to="Gone")
    assert response.status_code == 400
    assert "The folder “Gone” no longer exists" in response.content.decode()
    assert active_script(dovecot, mail_user) == before


def test_a_raw_script_with_an_error_is_refused_with_its_line_number(
    web: Client, mail_user: MailUser, dovecot: DovecotInstance
) -> None:
    assert new_filter(web, sender="keep", star="on").status_code == 302
    before = active_script(dovecot, mail_user)
    page = web.get(URL + "script/")
    assert page.context["form"].initial["script"] == before
    broken = 'require "fileinto";\nif header :contains "subject" "x" {\n  filento "Y";\n}\n'
    response = web.post(
        URL + "script/", {"version": page.context["form"].initial["version"], "script": broken}
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert 'data-line="3"' in body and "Line 3" in body
    assert "filento" in body  # the typed script is shown again, nothing lost
    assert active_script(dovecot, mail_user) == before


def test_rules_written_elsewhere_are_kept_intact_and_shown_as_raw(
    web: Client, mail_user: MailUser, dovecot: DovecotInstance
) -> None:
    foreign = (
        'require ["fileinto", "variables"];\n'
        "# rule:[from another program]\n"
        'if header :matches "subject" "*[ticket-*]*" {\n'
        '    set "ticket" "${2}";\n'
        '    fileinto "INBOX";\n'
        "}\n"
    )
    put_script(dovecot, mail_user, foreign)
    page = web.get(URL).content.decode()
    assert "kept as written" in page and "ticket" in page

    assert new_filter(web, sender="bank", star="on").status_code == 302
    script = active_script(dovecot, mail_user)
    rule = foreign.split("\n", 1)[1]  # the rule and its comment, after the require line
    assert rule.strip() in script
    assert 'header :contains "from" "bank"' in script
    assert '"variables"' in script and '"imap4flags"' in script


def test_without_managesieve_the_pages_say_why(web: Client, mail_user: MailUser, settings: Any) -> None:
    settings.WEBMAIL_MANAGESIEVE_PORT = 0
    # The section stays in the settings' navigation: its page is where the reason is read.
    assert 'href="/settings/filters/"' in web.get("/settings/").content.decode()
    response = web.get(URL)
    assert response.status_code == 200
    assert "does not offer filters" in response.content.decode()
    search = web.get("/mail/search/", {"folder": "INBOX", "from": "bank"}).content.decode()
    assert "filter-like-these" not in search


def test_nothing_listening_is_said_and_remembered(web: Client, settings: Any) -> None:
    from webmail.devstack.ports import free_port

    settings.WEBMAIL_MANAGESIEVE_PORT = free_port()
    response = web.get(URL)
    assert "nothing answers ManageSieve" in response.content.decode()
    # Remembered: the mail pages, which never connect to ManageSieve, stop offering filters.
    search = web.get("/mail/search/", {"folder": "INBOX", "from": "bank"}).content.decode()
    assert "filter-like-these" not in search


def test_filter_messages_from_this_sender_starts_from_the_open_message(
    web: Client, mail_user: MailUser, dovecot: DovecotInstance
) -> None:
    from tests.support.mail import append_all

    raw = make_message(subject="Newsletter", sender="News <news@shop.test>", to=mail_user.email)
    append_all(dovecot.imap_port, mail_user.email, mail_user.password, "INBOX", [(raw, [])])
    page = web.get("/mail/message/", {"folder": "INBOX", "uid": 1}).content.decode()
    link = "/settings/filters/new/?from=news%40shop.test&amp;folder=INBOX"
    assert link in page
    form = web.get(link.replace("&amp;", "&")).context["form"]
    assert form.initial["sender"] == "news@shop.test" and form.initial["apply_folder"] == "INBOX"


def test_filter_messages_like_these_carries_the_search_over(web: Client) -> None:
    page = web.get(
        "/mail/search/", {"folder": "INBOX", "from": "bank", "subject": "statement", "attachment": "1"}
    )
    body = page.content.decode()
    assert "filter-like-these" in body
    form = web.get(
        URL + "new/", {"from": "bank", "subject": "statement", "attachment": "1", "q": ""}
    ).context["form"]
    assert (form.initial["sender"], form.initial["subject"], form.initial["has_attachment"]) == (
        "bank",
        "statement",
        True,
    )
    quick = web.get(URL + "new/", {"q": "invoices"})
    assert quick.context["form"].initial["sender"] == "invoices"
    assert "was put in From" in quick.content.decode()
