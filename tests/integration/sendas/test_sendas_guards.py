"""Regression tests for the "Send mail as" review, through the views, against real servers:
aiosmtpd for SMTP, Dovecot for the Drafts folder. Each test is named after what it stops."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from tests.conftest import MailUser
from tests.support.mail import flags_and_bodies as folder
from tests.support.smtpd import SubmissionServer
from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.ports import free_port
from webmail.sendas import tokens
from webmail.sendas.models import Identity

from .conftest import OTHER_LOGIN, OTHER_PASSWORD

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _settings(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "email": "me@work.test",
        "display_name": "Work Me",
        "route": "external",
        "smtp_host": "127.0.0.1",
        "smtp_security": "starttls",
        "smtp_username": OTHER_LOGIN,
        "password": OTHER_PASSWORD,
    }
    data.update(changes)
    return data


class _Accept:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


@pytest.fixture
def plain_smtp() -> Iterator[tuple[int, list[tuple[str, str]]]]:
    """A server without TLS that accepts any login and records the credentials it was sent.

    LOGIN only: smtplib picks it for ASCII credentials; non-ASCII ones need PLAIN.
    """
    captured: list[tuple[str, str]] = []

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            captured.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=True, auth_data=data)

    port = free_port()
    controller = Controller(
        _Accept(),
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticate,
        auth_require_tls=False,
        auth_required=True,
        auth_exclude_mechanism=["PLAIN"],
    )
    controller.start()
    yield port, captured
    controller.stop()


# 1. Editing the server never sends the saved password there.


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_saved_password_is_not_sent_to_a_newly_typed_server(
    web: Client,
    make_identity: Callable[..., Identity],
    plain_smtp: tuple[int, list[tuple[str, str]]],
) -> None:
    port, captured = plain_smtp
    identity = make_identity()
    saved_port = identity.smtp_port
    changed = _settings(smtp_port=port, smtp_security="none", smtp_username="attacker", password="")
    response = web.post(f"/settings/send-as/{identity.pk}/edit/", changed)
    assert response.status_code == 400
    assert "Type the password again when you change the server" in response.content.decode()
    assert captured == []  # the new server never saw a login
    identity.refresh_from_db()
    assert (identity.smtp_port, identity.smtp_username, identity.smtp_password) == (
        saved_port,
        OTHER_LOGIN,
        OTHER_PASSWORD,
    )
    # Typed again, it goes to the new server and replaces the saved one.
    response = web.post(f"/settings/send-as/{identity.pk}/edit/", {**changed, "password": "new-pw"})
    assert response.status_code == 302, response.content[:2000]
    assert captured == [("attacker", "new-pw")]
    identity.refresh_from_db()
    assert (identity.smtp_port, identity.smtp_password) == (port, "new-pw")


# 2. Passwords with accents.


def test_non_ascii_password_signs_in_with_utf8_auth_plain(
    web: Client, other_smtp: SubmissionServer, smtp_server: SubmissionServer
) -> None:
    other_smtp.users["me-utf8"] = "pässwörd"
    try:
        response = web.post(
            "/settings/send-as/add/",
            _settings(smtp_port=other_smtp.port, smtp_username="me-utf8", password="pässwörd"),
        )
        assert response.status_code == 302, response.content[:2000]
        assert Identity.objects.get(email="me@work.test").smtp_password == "pässwörd"
        assert response.wsgi_request.sensitive_post_parameters == ("password",)  # type: ignore[attr-defined]
    finally:
        del other_smtp.users["me-utf8"]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_non_ascii_password_to_a_server_without_auth_plain_is_explained(
    web: Client, plain_smtp: tuple[int, list[tuple[str, str]]]
) -> None:
    port, captured = plain_smtp
    response = web.post(
        "/settings/send-as/add/", _settings(smtp_port=port, smtp_security="none", password="pässwörd")
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "non-ASCII" in page and "Nothing was saved" in page and "pässwörd" not in page
    assert captured == [] and not Identity.objects.exists()


# 3. Addresses that cannot be mailed are refused, not a 500.


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("me@localhost", "full domain name"),
        ("me@[127.0.0.1]", "full domain name"),
        ("me@bücher.test", "me@xn--bcher-kva.test"),
    ],
)
def test_address_that_cannot_be_mailed_is_refused_on_add(
    web: Client, other_smtp: SubmissionServer, smtp_server: SubmissionServer, email: str, expected: str
) -> None:
    before = len(smtp_server.recorder.messages)
    response = web.post("/settings/send-as/add/", _settings(email=email, smtp_port=other_smtp.port))
    assert response.status_code == 400
    assert expected in response.content.decode()
    assert not Identity.objects.exists() and len(smtp_server.recorder.messages) == before


def test_resend_to_an_address_saved_before_the_rules_is_explained(
    web: Client, make_identity: Callable[..., Identity], smtp_server: SubmissionServer
) -> None:
    identity = make_identity(email="me@localhost", verified_at=None)
    before = len(smtp_server.recorder.messages)
    response = web.post(f"/settings/send-as/{identity.pk}/resend/", follow=True)
    assert response.status_code == 200
    assert "could not be sent" in response.content.decode()
    assert len(smtp_server.recorder.messages) == before


# 4. A From address withdrawn after the page loaded: the message is kept in Drafts.


def _send_with_attachment(web: Client, identity: int) -> Any:
    return web.post(
        "/mail/compose/",
        {
            "identity": identity,
            "to": "bob@example.test",
            "subject": "Withdrawn",
            "text": "typed and not lost",
            "action": "send",
            "attachments": [SimpleUploadedFile("plan.txt", b"the plan", content_type="text/plain")],
        },
    )


@pytest.mark.parametrize("how", ["disabled", "domain withdrawn"])
def test_address_withdrawn_before_send_keeps_the_message_in_drafts(
    how: str,
    web: Client,
    make_identity: Callable[..., Identity],
    other_smtp: SubmissionServer,
    smtp_server: SubmissionServer,
    dovecot: DovecotInstance,
    mail_user: MailUser,
    settings: Any,
) -> None:
    if how == "disabled":
        identity = make_identity()
        assert web.get("/mail/compose/").status_code == 200  # the page offered it...
        Identity.objects.filter(pk=identity.pk).update(enabled=False)  # ...then the admin disabled it
    else:
        settings.WEBMAIL_SEND_AS_DOMAINS = []
        identity = make_identity(route=Identity.Route.OWN)
    before = len(other_smtp.recorder.messages), len(smtp_server.recorder.messages)
    response = _send_with_attachment(web, identity.pk)
    assert response.status_code == 502
    page = response.content.decode()
    assert "This address can no longer be used to send" in page and "kept in Drafts" in page
    ((flags, raw),) = folder(dovecot, mail_user, "Drafts")
    saved = message_from_bytes(raw, policy=policy.default)
    assert b"typed and not lost" in raw and b"\\Draft" in flags
    assert [part.get_filename() for part in saved.iter_attachments()] == ["plan.txt"]  # type: ignore[attr-defined]
    assert (len(other_smtp.recorder.messages), len(smtp_server.recorder.messages)) == before
    assert folder(dovecot, mail_user, "Sent") == []


# 5. A line break in the name.


def test_line_break_in_the_name_is_refused_and_a_stored_one_is_harmless(
    web: Client, make_identity: Callable[..., Identity], other_smtp: SubmissionServer
) -> None:
    identity = make_identity()
    bad = "Evil\r\nBcc: victim@x.test"
    response = web.post(
        f"/settings/send-as/{identity.pk}/edit/",
        _settings(display_name=bad, smtp_port=other_smtp.port, password=""),
    )
    assert response.status_code == 400 and "control characters" in response.content.decode()
    response = web.post("/settings/identities/add/", {"display_name": bad, "signature": ""})
    assert not Identity.objects.filter(display_name=bad).exists()
    # One stored before the rule: every page still works, and the header stays one line.
    Identity.objects.filter(pk=identity.pk).update(display_name=bad)
    assert web.get("/mail/compose/").status_code == 200
    response = web.post(
        "/mail/compose/",
        {"identity": identity.pk, "to": "bob@example.test", "subject": "s", "text": "t", "action": "send"},
    )
    assert response.status_code == 302, response.content[:2000]
    got = other_smtp.recorder.messages[-1]
    sent = message_from_bytes(got.data, policy=policy.default)
    assert sent["Bcc"] is None and got.rcpt_tos == ["bob@example.test"]
    assert sent["From"].addresses[0].display_name == "Evil Bcc: victim@x.test"


# 6. A disabled identity cannot be proved.


def test_disabled_identity_cannot_be_resent_or_verified(
    web: Client, make_identity: Callable[..., Identity], smtp_server: SubmissionServer
) -> None:
    identity = make_identity(verified_at=None, enabled=False)
    challenge = tokens.new_challenge(timezone.now())
    Identity.objects.filter(pk=identity.pk).update(
        verification_token_hash=challenge.token_hash,
        verification_code_hash=challenge.code_hash,
        verification_expires_at=challenge.expires_at,
    )
    before = len(smtp_server.recorder.messages)
    response = web.post(f"/settings/send-as/{identity.pk}/resend/", follow=True)
    assert "disabled by the administrator" in response.content.decode()
    assert len(smtp_server.recorder.messages) == before
    response = web.get(f"/settings/send-as/{identity.pk}/verify/{challenge.token}/")
    assert response.status_code == 400 and "disabled by the administrator" in response.content.decode()
    response = web.post(f"/settings/send-as/{identity.pk}/code/", {"code": challenge.code}, follow=True)
    assert "disabled by the administrator" in response.content.decode()
    assert Identity.objects.get(pk=identity.pk).verified_at is None


# 7. The connection test is not a port scanner.


def test_save_refuses_a_non_submission_port_before_connecting(
    web: Client, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.WEBMAIL_POP_ALLOWED_HOSTS = []
    tried: list[tuple[str, int]] = []

    def no_traffic(resolved: Any, port: int, timeout: float) -> Any:
        tried.append((resolved.host, port))
        raise ConnectionRefusedError(111, "refused")  # this test never leaves the machine

    monkeypatch.setattr("webmail.mailaccess.smtp.connect_pinned", no_traffic)
    # A public address literal: no DNS lookup, and connect_pinned above stops any traffic.
    response = web.post("/settings/send-as/add/", _settings(smtp_host="93.184.216.34", smtp_port=6379))
    assert tried == []
    assert response.status_code == 400
    assert "587, 465, 25 or 2525" in response.content.decode()
    assert not Identity.objects.exists()


def test_foreign_identity_is_still_not_a_valid_choice(
    web: Client, make_identity: Callable[..., Identity], make_user: Callable[..., MailUser]
) -> None:
    stranger = make_user("stranger")
    foreign = make_identity(
        email="theirs@work.test", user=get_user_model().objects.create(username=stranger.email)
    )
    response = web.post(
        "/mail/compose/",
        {"identity": foreign.pk, "to": "bob@example.test", "subject": "s", "text": "t", "action": "send"},
    )
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
