"""Regression tests for the "Send mail as" review: each test is named after what it stops."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.utils import timezone
from django.views.debug import ExceptionReporter

from webmail.compose.addresses import display
from webmail.mailaccess.errors import MailError
from webmail.sendas import actions
from webmail.sendas.actions import Verified
from webmail.sendas.forms import SendAsForm, SignatureForm
from webmail.sendas.models import Identity

pytestmark = pytest.mark.django_db

SAVED = "saved-secret"


@pytest.fixture
def user() -> Any:
    return get_user_model().objects.create(username="me@home.test", email="me@home.test")


@pytest.fixture
def saved(user: Any) -> Identity:
    identity = Identity(
        user=user,
        email="me@work.test",
        route=Identity.Route.EXTERNAL,
        smtp_host="smtp.work.test",
        smtp_port=587,
        smtp_security="starttls",
        smtp_username="me",
        verified_at=timezone.now(),
    )
    identity.smtp_password = SAVED
    identity.save()
    return identity


def _data(**changes: Any) -> dict[str, Any]:
    data = {
        "email": "me@work.test",
        "display_name": "Work Me",
        "signature": "",
        "route": "external",
        "smtp_host": "smtp.work.test",
        "smtp_port": 587,
        "smtp_security": "starttls",
        "smtp_username": "me",
        "password": "",
    }
    data.update(changes)
    return data


def _form(user: Any, data: dict[str, Any], instance: Identity | None = None) -> SendAsForm:
    return SendAsForm(data, instance=instance, user=user, own_email="me@home.test", server=None)


# 1. The saved password never goes to a server the user just typed.


@pytest.mark.parametrize(
    "change",
    [
        {"smtp_host": "smtp.evil.test"},
        {"smtp_port": 465},
        {"smtp_security": "tls"},
        {"smtp_username": "someone-else"},
    ],
    ids=["host", "port", "security", "username"],
)
def test_changing_the_server_needs_the_password_again(
    user: Any, saved: Identity, change: dict[str, Any]
) -> None:
    form = _form(user, _data(**change), saved)
    assert not form.is_valid()
    assert "Type the password again" in str(form.errors["password"])
    assert _form(user, _data(password="new-secret", **change), saved).is_valid()


def test_unchanged_server_keeps_the_saved_password(user: Any, saved: Identity) -> None:
    form = _form(user, _data(display_name="Renamed"), saved)
    assert form.is_valid(), form.errors
    assert "Type the password again" in str(form.fields["password"].help_text)


def test_identity_save_never_sends_the_saved_password_to_another_server(
    user: Any, saved: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even past the form (a caller that forgets it), the action refuses."""
    tried: list[str] = []
    monkeypatch.setattr(actions, "connection_test", lambda *, password, **_: tried.append(password))
    saved.smtp_host = "smtp.evil.test"
    with pytest.raises(MailError, match="Type the password again"):
        actions.identity_save(user=user, identity=saved, password="")
    assert tried == []
    assert Identity.objects.get(pk=saved.pk).smtp_host == "smtp.work.test"


# 2. Passwords stay out of error reports.


def test_password_is_hidden_in_error_reports(user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*, identity: Identity, password: str, **_: object) -> None:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(actions, "connection_test", boom)
    identity = Identity(user=user, email="me@work.test", route="external", smtp_host="smtp.work.test")
    try:
        actions.identity_save(user=user, identity=identity, password="typed-secret")
    except RuntimeError:
        exc_info = sys.exc_info()
    request = RequestFactory().post("/settings/send-as/add/", {"password": "typed-secret"})
    frames = ExceptionReporter(request, *exc_info).get_traceback_frames()
    (frame,) = [f for f in frames if f["function"] == "identity_save"]
    assert "typed-secret" not in repr(frame["vars"])


# 3. Addresses the form accepts can be used.


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("me@localhost", "full domain name"),
        ("me@[127.0.0.1]", "full domain name"),
        ("me@bücher.test", "ASCII form: me@xn--bcher-kva.test"),
        ("müller@work.test", "valid email address"),
    ],
)
def test_addresses_that_cannot_be_sent_to_are_refused(user: Any, email: str, expected: str) -> None:
    form = _form(user, _data(email=email, password="pw"))
    assert not form.is_valid()
    assert expected in str(form.errors["email"])


def test_ordinary_address_is_accepted(user: Any) -> None:
    assert _form(user, _data(email="Me.Too+tag@Work.test", password="pw")).is_valid()


def test_verification_to_an_unusable_stored_address_is_a_mail_error(user: Any) -> None:
    """Rows saved before the rule: the resend says why in words, never a 500."""
    from accounts.models import MailAccount

    MailAccount.objects.create(user=user, email="me@home.test")
    identity = Identity.objects.create(user=user, email="me@localhost")
    with pytest.raises(MailError, match="not a valid email address"):
        actions.verification_send(identity=identity, mailbox=None, link_for=lambda i, t: "https://x/")  # type: ignore[arg-type]


# 5. No line breaks (or other control characters) in a name that goes into From.


@pytest.mark.parametrize(
    "name", ["Evil\r\nBcc: victim@x.test", "Evil\nName", "Tab\there", "Nul\0", "Line\u2028sep"]
)
def test_control_characters_in_the_name_are_refused(user: Any, saved: Identity, name: str) -> None:
    form = _form(user, _data(display_name=name), saved)
    assert not form.is_valid() and "display_name" in form.errors
    old = SignatureForm({"display_name": name, "signature": ""})
    assert not old.is_valid() and "display_name" in old.errors


def test_a_bad_stored_name_is_shown_safely() -> None:
    assert display("Evil\r\nBcc: victim@x.test", "me@work.test") == '"Evil Bcc: victim@x.test" <me@work.test>'
    assert display("Zoë\nMüller", "zoe@work.test") == "Zoë Müller <zoe@work.test>"
    assert display("\n", "me@work.test") == "me@work.test"


# 6. A disabled identity cannot be proved.


def test_disabled_identity_cannot_be_verified_or_sent_a_new_message(user: Any) -> None:
    from webmail.sendas import tokens

    identity = Identity.objects.create(user=user, email="me@work.test", enabled=False)
    challenge = tokens.new_challenge(timezone.now())
    Identity.objects.filter(pk=identity.pk).update(
        verification_token_hash=challenge.token_hash,
        verification_code_hash=challenge.code_hash,
        verification_expires_at=challenge.expires_at,
    )
    identity.refresh_from_db()
    assert actions.verify_token(identity=identity, token=challenge.token) == Verified.DISABLED
    assert actions.verify_code(identity=identity, code=challenge.code) == Verified.DISABLED
    assert Identity.objects.get(pk=identity.pk).verified_at is None
    with pytest.raises(MailError, match="disabled"):
        actions.verification_send(identity=identity, mailbox=None, link_for=lambda i, t: "https://x/")  # type: ignore[arg-type]


# 7. The save-time test is not a port scanner.


def test_user_typed_smtp_server_only_on_submission_ports_unless_allowlisted() -> None:
    from webmail.mailaccess.smtp import resolve_user_host
    from webmail.mailaccess.ssrf import AddressRefused
    from webmail.mailaccess.types import Endpoint, Security

    # An address literal: resolving it asks no DNS server, and nothing connects anywhere.
    with pytest.raises(AddressRefused, match="587, 465, 25 or 2525"):
        resolve_user_host(Endpoint("93.184.216.34", 6379, Security.STARTTLS), [])
    for port in (587, 465, 25, 2525):
        assert resolve_user_host(Endpoint("93.184.216.34", port, Security.STARTTLS), []).addresses
    assert resolve_user_host(Endpoint("127.0.0.1", 6379, Security.STARTTLS), ["127.0.0.0/8"]).allowlisted
