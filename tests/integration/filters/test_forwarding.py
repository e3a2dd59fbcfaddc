"""Forwarding waits for the target's confirmation; a stolen session cannot add a target; a notice follows."""

from __future__ import annotations

import re
from email import message_from_bytes, policy

import pytest
from django.test import Client

from tests.conftest import MailUser
from tests.integration.filters.conftest import Outbound, active_script, deliver
from tests.support.mail import imap_login, make_message
from tests.support.smtpd import SubmissionServer
from webmail.devstack.dovecot import DovecotInstance
from webmail.filters.models import ForwardAddress

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
URL = "/settings/filters/"
TARGET = "me@elsewhere.test"
CODE = re.compile(r"^\s*(\d{9})\s*$", re.MULTILINE)
LINK = re.compile(r"https?://testserver(/settings/filters/forwarding/confirm/[^\s/]+/)")


def version_of(web: Client) -> str:
    return web.get(URL).context["version"]


def forward_filter(web: Client, target: str = TARGET) -> object:
    form = {
        "version": version_of(web),
        "sender": "boss",
        "forward_to": target,
        "larger_unit": "1",
        "smaller_unit": "1",
    }
    return web.post(URL + "new/", form)


def confirmation(smtp_server: SubmissionServer) -> str:
    mail = [m for m in smtp_server.recorder.messages if TARGET in m.rcpt_tos][-1]
    return message_from_bytes(mail.data, policy=policy.default).get_body(("plain",)).get_content()


def inbox_subjects(dovecot: DovecotInstance, user: MailUser) -> list[str]:
    client = imap_login(dovecot.imap_port, user.email, user.password)
    try:
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["ALL"])
        data = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"]) if uids else {}
    finally:
        client.logout()
    return [d[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip() for d in data.values()]


def test_forwarding_waits_for_the_targets_confirmation(
    web: Client,
    mail_user: MailUser,
    dovecot: DovecotInstance,
    smtp_server: SubmissionServer,
    outbound: Outbound,
) -> None:
    smtp_server.recorder.messages.clear()
    # No confirmed address: the form refuses the target, the server's script is untouched.
    refused = forward_filter(web)
    assert refused.status_code == 400
    assert "is not a confirmed forwarding address" in refused.content.decode()
    assert active_script(dovecot, mail_user) == ""

    # A stolen session (no password) cannot add an address.
    wrong = web.post(URL + "forwarding/add/", {"email": TARGET, "password": "guess"}, follow=True)
    assert "not your mailbox password" in wrong.content.decode()
    assert not ForwardAddress.objects.exists()

    # With the password: a confirmation goes to the target; still not usable before it is confirmed.
    web.post(URL + "forwarding/add/", {"email": TARGET, "password": mail_user.password})
    address = ForwardAddress.objects.get(email=TARGET)
    assert not address.verified
    assert forward_filter(web).status_code == 400
    # Nor through the raw script.
    page = web.get(URL + "script/")
    raw = 'require "copy";\nredirect :copy "me@elsewhere.test";\n'
    response = web.post(URL + "script/", {"version": page.context["form"].initial["version"], "script": raw})
    assert response.status_code == 400 and "not confirmed yet" in response.content.decode()
    assert active_script(dovecot, mail_user) == ""

    # The target opens the link: a page with a button (opening it confirms nothing), then confirms.
    text = confirmation(smtp_server)
    link = LINK.search(text).group(1)
    anonymous = Client()
    assert "Confirm" in anonymous.get(link).content.decode()
    address.refresh_from_db()
    assert not address.verified
    assert "data-forward-confirmed" in anonymous.post(link).content.decode()
    address.refresh_from_db()
    assert address.verified

    assert forward_filter(web).status_code == 302
    assert 'redirect :copy "me@elsewhere.test"' in active_script(dovecot, mail_user)
    # The owner is told, in the Inbox.
    assert any("now forwarded to me@elsewhere.test" in s for s in inbox_subjects(dovecot, mail_user))

    deliver(
        dovecot,
        mail_user.email,
        make_message(subject="report", sender="boss@work.test", to=mail_user.email),
        sender="boss@work.test",
    )
    forwarded = outbound.wait_for(1, TARGET)
    assert len(forwarded) == 1 and b"Subject: report" in forwarded[0].data
    assert "report" in inbox_subjects(dovecot, mail_user)  # a copy is kept

    # The address cannot be removed while a filter forwards to it.
    removed = web.post(URL + f"forwarding/{address.pk}/remove/", follow=True)
    assert "still forwards mail" in removed.content.decode()
    assert ForwardAddress.objects.filter(pk=address.pk).exists()


def test_the_code_confirms_too_and_five_wrong_tries_end_it(
    web: Client, mail_user: MailUser, smtp_server: SubmissionServer
) -> None:
    smtp_server.recorder.messages.clear()
    web.post(URL + "forwarding/add/", {"email": TARGET, "password": mail_user.password})
    address = ForwardAddress.objects.get(email=TARGET)
    code = CODE.search(confirmation(smtp_server)).group(1)
    for _ in range(5):
        web.post(URL + f"forwarding/{address.pk}/code/", {"code": "000000000"})
    expired = web.post(URL + f"forwarding/{address.pk}/code/", {"code": code}, follow=True)
    assert "expired or was tried too often" in expired.content.decode()
    address.refresh_from_db()
    assert not address.verified


def test_five_wrong_passwords_end_the_session(web: Client) -> None:
    for _ in range(4):
        web.post(URL + "forwarding/add/", {"email": TARGET, "password": "guess"})
    last = web.post(URL + "forwarding/add/", {"email": TARGET, "password": "guess"})
    assert last.status_code == 302 and "/login/" in last["Location"]
    assert web.get(URL).status_code == 302  # signed out
