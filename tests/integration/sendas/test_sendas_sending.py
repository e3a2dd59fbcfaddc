"""Each identity's mail leaves through the right server, with the right envelope and headers;
every failure is told in plain words and keeps a draft. Two real aiosmtpd servers, real Dovecot."""

from __future__ import annotations

import socket
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from django.test import Client

from tests.conftest import MailUser
from tests.support.mail import append_all, make_message
from tests.support.mail import flags_and_bodies as folder
from tests.support.smtpd import SubmissionServer
from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.ports import free_port
from webmail.sendas.models import Identity

from .conftest import OTHER_LOGIN

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _send(web: Client, identity: int, to: str = "bob@example.test", text: str = "Hello from work") -> Any:
    return web.post(
        "/mail/compose/",
        {"identity": identity, "to": to, "subject": "From work", "text": text, "action": "send"},
    )


def _parsed(raw: bytes) -> EmailMessage:
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_external_identity_leaves_through_its_own_server_with_its_credentials(
    web: Client,
    make_identity: Callable[..., Identity],
    smtp_server: SubmissionServer,
    other_smtp: SubmissionServer,
    dovecot: DovecotInstance,
    mail_user: MailUser,
) -> None:
    identity = make_identity()
    ours, theirs = len(smtp_server.recorder.messages), len(other_smtp.recorder.messages)
    response = _send(web, identity.pk)
    assert response.status_code == 302, response.content[:2000]
    assert len(smtp_server.recorder.messages) == ours  # nothing through our server
    got = other_smtp.recorder.messages[-1]
    assert len(other_smtp.recorder.messages) == theirs + 1
    assert (got.login, got.mail_from, got.rcpt_tos) == (OTHER_LOGIN, "me@work.test", ["bob@example.test"])
    sent = _parsed(got.data)
    assert str(sent["From"]) == "Work Me <me@work.test>"
    assert sent["Sender"] is None and sent["Reply-To"] is None
    assert sent["Message-ID"].endswith("@work.test>")
    ((flags, raw),) = folder(dovecot, mail_user, "Sent")
    assert b"\\Seen" in flags and _parsed(raw)["From"].addresses[0].addr_spec == "me@work.test"


def test_own_server_identity_sets_sender_and_envelope_to_the_account(
    web: Client,
    make_identity: Callable[..., Identity],
    smtp_server: SubmissionServer,
    other_smtp: SubmissionServer,
    mail_user: MailUser,
    settings: Any,
) -> None:
    settings.WEBMAIL_SEND_AS_DOMAINS = ["work.test"]
    identity = make_identity(route=Identity.Route.OWN, smtp_host="", smtp_username="", smtp_password="")
    theirs = len(other_smtp.recorder.messages)
    assert _send(web, identity.pk).status_code == 302
    assert len(other_smtp.recorder.messages) == theirs
    got = smtp_server.recorder.messages[-1]
    assert (got.login, got.mail_from) == (mail_user.email, mail_user.email)
    sent = _parsed(got.data)
    assert sent["From"].addresses[0].addr_spec == "me@work.test"
    assert sent["Sender"].addresses[0].addr_spec == mail_user.email
    assert sent["Reply-To"].addresses[0].addr_spec == "me@work.test"


def test_own_route_stops_when_the_admin_withdraws_the_domain(
    web: Client, make_identity: Callable[..., Identity], settings: Any
) -> None:
    settings.WEBMAIL_SEND_AS_DOMAINS = []
    identity = make_identity(route=Identity.Route.OWN)
    response = _send(web, identity.pk)
    assert response.status_code == 502
    assert "no longer sends as work.test" in response.content.decode()


def test_the_own_address_is_still_offered_and_unchanged(
    web: Client, make_identity: Callable[..., Identity], smtp_server: SubmissionServer, mail_user: MailUser
) -> None:
    make_identity()
    form = web.get("/mail/compose/").context["form"]
    labels = dict(form.fields["identity"].choices)
    assert labels[0] == mail_user.email and "Work Me <me@work.test>" in labels.values()
    assert _send(web, 0).status_code == 302
    sent = _parsed(smtp_server.recorder.messages[-1].data)
    assert sent["From"].addresses[0].addr_spec == mail_user.email and sent["Sender"] is None


FAILURES = {
    "wrong password": ({"smtp_password": "wrong"}, {}, "refused your credentials"),
    "closed port": ({"smtp_port": "closed"}, {}, "nothing is listening"),
    "refused recipient": ({}, {"to": "nobody@refused.test"}, "refused every recipient"),
    "refused sender": ({"refuse_sender": True}, {}, "refused the sender address me@work.test"),
    "private address": ({"allowlist": []}, {}, "private or local network"),
    "untrusted certificate": ({"ca_file": None}, {}, "is not trusted"),
}


@pytest.mark.parametrize("case", FAILURES, ids=list(FAILURES))
def test_failures_are_plain_and_keep_a_draft(
    case: str,
    web: Client,
    make_identity: Callable[..., Identity],
    other_smtp: SubmissionServer,
    dovecot: DovecotInstance,
    mail_user: MailUser,
    settings: Any,
) -> None:
    setup, send_args, expected = FAILURES[case]
    fields = dict(setup)
    if fields.pop("refuse_sender", False):
        other_smtp.recorder.refuse_senders.add("me@work.test")
    if "allowlist" in fields:
        settings.WEBMAIL_POP_ALLOWED_HOSTS = fields.pop("allowlist")
    if "ca_file" in fields:
        settings.WEBMAIL_TLS_CA_FILE = fields.pop("ca_file")
    if fields.get("smtp_port") == "closed":
        fields["smtp_port"] = free_port()
    identity = make_identity(**fields)
    theirs = len(other_smtp.recorder.messages)
    response = _send(web, identity.pk, text=f"typed text for {case}", **send_args)
    assert response.status_code == 502
    page = response.content.decode()
    assert expected in page and "kept in Drafts" in page
    assert OTHER_LOGIN not in page or case == "refused sender"  # never more than needed
    assert "work-smtp-pw" not in page and "wrong" not in page.split("Not sent:")[1][:300]
    assert len(other_smtp.recorder.messages) == theirs
    ((_flags, raw),) = folder(dovecot, mail_user, "Drafts")
    assert f"typed text for {case}".encode() in raw
    assert folder(dovecot, mail_user, "Sent") == []


def test_hostname_is_verified_not_the_pinned_address(
    web: Client, make_identity: Callable[..., Identity], other_smtp: SubmissionServer
) -> None:
    # The certificate names localhost and 127.0.0.1. "localhost" is pinned to 127.0.0.1 and verified.
    ok = make_identity(smtp_host="localhost")
    assert _send(web, ok.pk).status_code == 302
    # Another name for 127.0.0.1 that the certificate does not carry: refused, though the address is the same.
    name = socket.gethostname()
    addresses = {info[4][0] for info in socket.getaddrinfo(name, 25, type=socket.SOCK_STREAM)}
    if name in ("localhost", "127.0.0.1") or addresses != {"127.0.0.1"}:
        pytest.skip("the host name does not resolve to 127.0.0.1 alone")
    Identity.objects.filter(pk=ok.pk).update(smtp_host=name)
    response = _send(web, ok.pk)
    assert response.status_code == 502 and "is not trusted" in response.content.decode()


def test_unproved_disabled_or_foreign_identities_cannot_send_even_by_forged_post(
    web: Client,
    make_identity: Callable[..., Identity],
    make_user: Callable[..., MailUser],
    other_smtp: SubmissionServer,
    smtp_server: SubmissionServer,
) -> None:
    from django.contrib.auth import get_user_model

    unproved = make_identity(email="new@work.test", verified_at=None)
    disabled = make_identity(email="old@work.test", enabled=False)
    stranger = make_user("stranger")
    foreign = make_identity(
        email="theirs@work.test", user=get_user_model().objects.create(username=stranger.email)
    )
    before = len(other_smtp.recorder.messages), len(smtp_server.recorder.messages)
    # One's own: refused in words, the message kept in Drafts (it may have been disabled meanwhile).
    for identity in (unproved, disabled):
        response = _send(web, identity.pk)
        assert response.status_code == 502
        assert "can no longer be used to send" in response.content.decode()
    # Someone else's is not even a choice.
    response = _send(web, foreign.pk)
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    labels = dict(web.get("/mail/compose/").context["form"].fields["identity"].choices)
    assert not any("work.test" in label for label in labels.values())
    assert (len(other_smtp.recorder.messages), len(smtp_server.recorder.messages)) == before


def test_route_is_checked_again_at_send_time(
    web: Client, make_identity: Callable[..., Identity], other_smtp: SubmissionServer
) -> None:
    """Disabled by an admin between the page load and the click: the send is refused."""
    from webmail.sendas.route_choice import IdentityUnusable, route_for

    identity = make_identity()
    Identity.objects.filter(pk=identity.pk).update(enabled=False)
    account = identity.user.mail_account
    with pytest.raises(IdentityUnusable):
        route_for(identity, account=account, mailbox=None)  # type: ignore[arg-type]


def test_reply_to_imported_mail_starts_from_the_address_it_was_sent_to(
    web: Client, make_identity: Callable[..., Identity], dovecot: DovecotInstance, mail_user: MailUser
) -> None:
    work = make_identity()
    other = make_identity(email="me@old.test", display_name="Old Me")
    to_work = make_message(subject="To work", to="me@work.test", headers={"Cc": "someone@x.test"})
    via_list = make_message(
        subject="Via a list",
        to="list@lists.test",
        headers={"Delivered-To": "me@old.test", "X-Original-To": "me@old.test"},
    )
    to_me = make_message(subject="To me", to=mail_user.email)
    to_both = make_message(subject="To both", to="bob@x.test, Old Me <me@old.test>, carol@x.test")
    append_all(
        dovecot.imap_port,
        mail_user.email,
        mail_user.password,
        "INBOX",
        [(to_work, []), (via_list, []), (to_me, []), (to_both, [])],
    )
    chosen = []
    for uid in (1, 2, 3):
        form = web.get(f"/mail/compose/?mode=reply&folder=INBOX&uid={uid}").context["form"]
        chosen.append(form.initial["identity"])
    assert chosen == [work.pk, other.pk, 0]
    # Reply-all never copies one's other addresses, and starts from the one it was sent to.
    form = web.get("/mail/compose/?mode=reply-all&folder=INBOX&uid=4").context["form"]
    assert "carol@x.test" in form.initial["cc"] and "me@old.test" not in form.initial["cc"]
    assert form.initial["identity"] == other.pk


def test_an_unreadable_stored_password_is_never_sent_and_the_user_is_told(
    web: Client,
    make_identity: Callable[..., Identity],
    other_smtp: SubmissionServer,
    dovecot: DovecotInstance,
    mail_user: MailUser,
) -> None:
    from tests.integration.imports.test_unreadable_secrets import foreign_token

    identity = make_identity()
    Identity.objects.filter(pk=identity.pk).update(smtp_password=foreign_token("work-smtp-pw"))
    theirs = len(other_smtp.recorder.messages)
    response = _send(web, identity.pk, text="typed before the key changed")
    assert response.status_code == 502
    page = response.content.decode()
    assert "can no longer be read here" in page and "kept in Drafts" in page
    assert len(other_smtp.recorder.messages) == theirs
    ((_flags, raw),) = folder(dovecot, mail_user, "Drafts")
    assert b"typed before the key changed" in raw
    settings_page = web.get("/settings/identities/").content.decode()
    assert "Its password can no longer be read here" in settings_page
