"""The proof of ownership end to end, with nothing faked:

our submission server (the dev relay, AUTH checked against Dovecot) delivers the
confirmation message over LMTP into the external address's mailbox on Dovecot;
the POP3 import brings it into the user's INBOX; the test reads the link out of
the imported message and follows it signed in; then mail goes out as that
address through the other provider's SMTP server, and a reply to the imported
message starts from that address.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import MailAccount
from accounts.secret_binding import endpoint_key
from accounts.servers import default_server
from tests.conftest import MailUser
from tests.support.mail import read_folder
from tests.support.smtpd import SubmissionServer
from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.ports import free_port
from webmail.devstack.smtprelay import LocalRelay
from webmail.imports import service
from webmail.imports.models import ExternalAccount
from webmail.sendas.models import Identity

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

LINK = re.compile(r"https?://testserver(/settings/send-as/\d+/verify/[^\s/]+/)")


@pytest.fixture
def relay(dovecot: DovecotInstance, settings: Any) -> Iterator[LocalRelay]:
    """Our own submission server for this test: plain SMTP with AUTH on loopback, delivering to Dovecot."""
    server = LocalRelay.for_instance(dovecot, free_port(), {"example.test"}, authenticate=True)
    server.start()
    settings.WEBMAIL_SMTP_HOST = "127.0.0.1"
    settings.WEBMAIL_SMTP_PORT = server.port
    settings.WEBMAIL_SMTP_SECURITY = "none"
    settings.WEBMAIL_POP_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEBMAIL_POP_TIMEOUT = 10.0
    yield server
    server.stop()


def _inbox(dovecot: DovecotInstance, user: MailUser) -> list[tuple[int, bytes]]:
    return [(uid, raw) for uid, _flags, raw in read_folder(dovecot, user, "INBOX")]


def test_confirmation_arrives_by_pop_import_and_its_link_proves_the_address(
    relay: LocalRelay,
    login: Callable[[MailUser], Client],
    mail_user: MailUser,
    make_user: Callable[..., MailUser],
    dovecot: DovecotInstance,
    other_smtp: SubmissionServer,
) -> None:
    external = make_user("external")  # the "other" address: a second mailbox on the test Dovecot
    other_smtp.users[external.email] = external.password  # ...and the other provider's SMTP knows it
    web = login(mail_user)
    user = get_user_model().objects.get(username=mail_user.email)
    # As after adding it: stored, for the server that accepted it.
    MailAccount.objects.filter(user=user).update(
        imap_password=mail_user.password, imap_password_for=endpoint_key(default_server().imap)
    )
    account = ExternalAccount(
        user=user,
        email=external.email,
        host="127.0.0.1",
        port=dovecot.pop3_port,
        security="starttls",
        username=external.email,
    )
    account.password = external.password
    account.save()

    # The POP3 account is the starting point; the user adds the port and the password.
    initial = web.get(f"/settings/send-as/add/?from={account.pk}").context["form"].initial
    response = web.post(
        "/settings/send-as/add/",
        {
            "email": initial["email"],
            "display_name": "Me elsewhere",
            "route": initial["route"],
            "smtp_host": initial["smtp_host"],
            "smtp_port": other_smtp.port,
            "smtp_security": "starttls",
            "smtp_username": initial["smtp_username"],
            "password": external.password,
        },
    )
    assert response.status_code == 302, response.content[:3000]
    identity = Identity.objects.get(user=user, email=external.email)
    assert not identity.verified
    assert dovecot.message_count(external.email) == 1  # delivered to the other mailbox, not to ours

    run = service.account_import(account_id=account.pk)
    assert run is not None
    run.refresh_from_db()
    assert (run.status, run.imported) == ("ok", 1), run.error

    ((uid, raw),) = _inbox(dovecot, mail_user)
    imported = message_from_bytes(raw, policy=policy.default)
    assert imported["To"].addresses[0].addr_spec == external.email
    text = imported.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    path = LINK.search(text).group(1)  # type: ignore[union-attr]
    response = web.get(path)
    assert response.status_code == 200 and "is confirmed" in response.content.decode()
    identity.refresh_from_db()
    assert identity.verified_at is not None

    # Replying to the imported message starts from the address it was sent to...
    form = web.get(f"/mail/compose/?mode=reply&folder=INBOX&uid={uid}").context["form"]
    assert form.initial["identity"] == identity.pk
    # ...and sending goes through the other provider's server with that account's login.
    response = web.post(
        "/mail/compose/",
        {
            "identity": identity.pk,
            "to": "bob@example.org",
            "subject": "Hello",
            "text": "Sent as my other address.",
            "action": "send",
        },
    )
    assert response.status_code == 302, response.content[:3000]
    got = other_smtp.recorder.messages[-1]
    assert (got.login, got.mail_from) == (external.email, external.email)
    sent = message_from_bytes(got.data, policy=policy.default)
    assert str(sent["From"]) == f"Me elsewhere <{external.email}>"
