"""Identity rules that need the database: usable(), the form, verification, encryption at rest."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import MailServer
from webmail.sendas import actions, tokens
from webmail.sendas.actions import Verified
from webmail.sendas.forms import SendAsForm
from webmail.sendas.models import Identity
from webmail.sendas.route_choice import own_server_allows

pytestmark = pytest.mark.django_db


@pytest.fixture
def user() -> Any:
    return get_user_model().objects.create(username="me@home.test", email="me@home.test")


def _form(user: Any, data: dict[str, Any], server: MailServer | None = None) -> SendAsForm:
    base = {"smtp_port": 587, "smtp_security": "starttls", "display_name": "", "signature": ""}
    return SendAsForm({**base, **data}, user=user, own_email="me@home.test", server=server)


def test_usable_queryset(user: Any) -> None:
    own = Identity.objects.create(user=user, display_name="Me")
    pending = Identity.objects.create(user=user, email="me@work.test")
    proved = Identity.objects.create(user=user, email="me@old.test", verified_at=timezone.now())
    now = timezone.now()
    disabled = Identity.objects.create(user=user, email="me@x.test", verified_at=now, enabled=False)
    usable = set(Identity.objects.usable().values_list("pk", flat=True))
    assert usable == {own.pk, proved.pk}
    assert pending.pk not in usable and disabled.pk not in usable


def test_one_identity_per_address_but_many_for_the_own_address(user: Any) -> None:
    Identity.objects.create(user=user, display_name="A")
    Identity.objects.create(user=user, display_name="B")
    Identity.objects.create(user=user, email="me@work.test")
    with pytest.raises(IntegrityError), transaction.atomic():
        Identity.objects.create(user=user, email="me@work.test")


def test_form_external_route_needs_server_username_and_password(user: Any) -> None:
    form = _form(user, {"email": "me@work.test", "route": "external"})
    assert not form.is_valid()
    assert {"smtp_host", "smtp_username", "password"} <= set(form.errors)
    form = _form(
        user,
        {
            "email": "me@work.test",
            "route": "external",
            "smtp_host": "SMTP.Work.Test.",
            "smtp_username": " me ",
            "password": "pw",
        },
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["smtp_host"] == "smtp.work.test" and form.cleaned_data["smtp_username"] == "me"


def test_form_refuses_own_address_duplicates_and_bad_hosts(user: Any) -> None:
    assert "email" in _form(user, {"email": "ME@home.test", "route": "external"}).errors
    Identity.objects.create(user=user, email="me@work.test")
    assert "email" in _form(user, {"email": "Me@Work.test", "route": "external"}).errors
    bad = _form(user, {"email": "a@b.test", "route": "external", "smtp_host": "http://x/y"})
    assert "smtp_host" in bad.errors


def test_own_route_only_for_domains_the_admin_allows(user: Any, settings: Any) -> None:
    settings.WEBMAIL_SEND_AS_DOMAINS = []
    form = _form(user, {"email": "me@work.test", "route": "own"})
    assert not form.is_valid() and "route" in form.errors  # not even offered
    settings.WEBMAIL_SEND_AS_DOMAINS = ["work.test"]
    assert _form(user, {"email": "me@work.test", "route": "own"}).is_valid()
    assert "route" in _form(user, {"email": "me@other.test", "route": "own"}).errors
    server = MailServer(name="s", domains="home.test", smtp_host="x", imap_host="x", send_as_domains="*")
    assert own_server_allows(server, "anyone@anywhere.test")
    server.send_as_domains = "Work.Test, @old.test"
    assert own_server_allows(server, "me@old.test") and not own_server_allows(server, "me@new.test")


def test_insecure_choice_is_flagged(user: Any) -> None:
    form = _form(user, {"email": "a@b.test", "route": "external", "smtp_security": "none", "smtp_port": 25})
    assert form.insecure
    assert not _form(user, {"email": "a@b.test", "route": "external"}).insecure


def _challenge(identity: Identity, **changes: Any) -> tokens.Challenge:
    challenge = tokens.new_challenge(timezone.now())
    fields = {
        "verification_token_hash": challenge.token_hash,
        "verification_code_hash": challenge.code_hash,
        "verification_expires_at": challenge.expires_at,
        **changes,
    }
    Identity.objects.filter(pk=identity.pk).update(**fields)
    identity.refresh_from_db()
    return challenge


def test_link_verifies_once_and_expired_or_wrong_links_do_not(user: Any) -> None:
    identity = Identity.objects.create(user=user, email="me@work.test")
    challenge = _challenge(identity)
    assert actions.verify_token(identity=identity, token="nope") == Verified.WRONG
    assert actions.verify_token(identity=identity, token=challenge.token) == Verified.YES
    identity.refresh_from_db()
    assert identity.verified_at is not None and identity.verification_token_hash == ""

    late = Identity.objects.create(user=user, email="me@late.test")
    challenge = _challenge(late, verification_expires_at=timezone.now() - timedelta(seconds=1))
    assert actions.verify_token(identity=late, token=challenge.token) == Verified.EXPIRED
    late.refresh_from_db()
    assert late.verified_at is None


def test_code_attempts_are_limited(user: Any) -> None:
    identity = Identity.objects.create(user=user, email="me@work.test")
    challenge = _challenge(identity)
    for _ in range(tokens.MAX_CODE_ATTEMPTS):
        assert actions.verify_code(identity=identity, code="000000000") == Verified.WRONG
    # Even the right code is refused now: a new message must be sent.
    assert actions.verify_code(identity=identity, code=challenge.code) == Verified.EXPIRED
    identity.refresh_from_db()
    assert identity.verified_at is None

    other = Identity.objects.create(user=user, email="me@other.test")
    challenge = _challenge(other)
    assert actions.verify_code(identity=other, code=challenge.code) == Verified.YES
    assert Identity.objects.get(pk=other.pk).verified


def _raw_password(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT smtp_password FROM accounts_identity WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_smtp_password_encrypted_at_rest_and_rotated(user: Any, settings: Any) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.WEBMAIL_CREDENTIALS_KEYS = [old]
    identity = Identity(user=user, email="me@work.test", route="external", smtp_host="smtp.work.test")
    identity.smtp_password = "smtp-secret"
    identity.save()
    before = _raw_password(identity.pk)
    assert "smtp-secret" not in before
    assert "smtp-secret" not in repr(Identity.objects.get(pk=identity.pk).smtp_password)
    settings.WEBMAIL_CREDENTIALS_KEYS = [new, old]
    call_command("rotate_credentials")
    settings.WEBMAIL_CREDENTIALS_KEYS = [new]
    assert Identity.objects.get(pk=identity.pk).smtp_password == "smtp-secret"
    assert _raw_password(identity.pk) != before


def test_number_of_addresses_is_capped(user: Any) -> None:
    from webmail.sendas.forms import MAX_ADDRESSES_PER_USER

    Identity.objects.bulk_create(
        Identity(user=user, email=f"me{i}@work.test") for i in range(MAX_ADDRESSES_PER_USER)
    )
    form = _form(user, {"email": "one@more.test", "route": "external"})
    assert "at most" in str(form.errors["email"])


def test_only_the_other_providers_server_is_offered_and_preselected(user: Any, settings: Any) -> None:
    settings.WEBMAIL_SEND_AS_DOMAINS = []
    form = SendAsForm(user=user, own_email="me@home.test", server=None)
    assert [value for value, _label in form.fields["route"].choices] == ["external"]
    assert form["route"].value() == "external"
