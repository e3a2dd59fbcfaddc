"""A stored secret no key decrypts (keys changed without rotation) is an error state, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.db.models import TextField
from django.db.models.functions import Cast
from django.test import Client

from accounts.fields import secret_unreadable
from accounts.models import MailAccount
from tests.conftest import MailUser
from tests.integration.imports.conftest import External, Owner
from tests.integration.imports.support import pop_messages
from tests.integration.imports.test_settings_pages import form_data
from webmail.devstack.dovecot import DovecotInstance
from webmail.imports import service, tasks
from webmail.imports.models import ExternalAccount

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
UNREADABLE = "The stored password of this account can no longer be read."


class _Ciphertext(str):
    already_encrypted = True  # stored as is, like rotate_credentials does


def foreign_token(text: str) -> _Ciphertext:
    """A secret encrypted with a key the webmail does not have."""
    return _Ciphertext(Fernet(Fernet.generate_key()).encrypt(text.encode()).decode())


def raw(model: Any, pk: int, field: str) -> str:
    return model.objects.annotate(raw=Cast(field, TextField())).values_list("raw", flat=True).get(pk=pk)


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(tasks.import_account, "delay", lambda *args: sent.append(args[:2]))
    return sent


def test_unreadable_pop_password_asks_for_it_again(
    make_account: Callable[..., ExternalAccount],
    external: External,
    owner: Owner,
    login: Callable[[MailUser], Client],
    dovecot: DovecotInstance,
    queued: list[tuple[Any, ...]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    external.seed(pop_messages(2, seed=5))
    account = make_account()
    token = foreign_token(external.password)
    ExternalAccount.objects.filter(pk=account.pk).update(password=token)
    browser = login(owner.mail)

    page = browser.get("/settings/accounts/")
    assert page.status_code == 200 and UNREADABLE in page.content.decode()

    # A check does not try the server with an empty password: it stops and waits for the user.
    service.account_import(account_id=account.pk)
    account.refresh_from_db()
    assert secret_unreadable(account.password)
    assert not account.enabled and account.paused_reason == ExternalAccount.Paused.AUTH
    assert UNREADABLE in account.last_error
    assert raw(ExternalAccount, account.pk, "password") == token  # kept: the old key may come back
    assert external.count() == 2

    edit = browser.get(f"/settings/accounts/{account.pk}/edit/")
    assert edit.status_code == 200 and "enter it again" in edit.content.decode()
    no_password = browser.post(
        f"/settings/accounts/{account.pk}/edit/", form_data(external, dovecot, password="")
    )
    assert no_password.status_code == 200  # the password is required now
    with django_capture_on_commit_callbacks(execute=True):
        saved = browser.post(f"/settings/accounts/{account.pk}/edit/", form_data(external, dovecot))
    assert saved.status_code == 302
    account.refresh_from_db()
    assert account.password == external.password and account.enabled
    assert queued


def test_unreadable_mailbox_password_does_not_break_sign_in_or_pages(
    make_account: Callable[..., ExternalAccount],
    external: External,
    owner: Owner,
    login: Callable[[MailUser], Client],
) -> None:
    external.seed(pop_messages(2, seed=6))
    account = make_account()
    MailAccount.objects.filter(user=owner.user).update(imap_password=foreign_token(owner.mail.password))
    result = service.account_import(account_id=account.pk)
    assert result is not None
    result.refresh_from_db()
    account.refresh_from_db()
    assert result.status == "failed"
    assert "no stored password for your mailbox" in account.last_error
    assert external.count() == 2  # nothing deleted

    browser = login(owner.mail)  # loads and saves the MailAccount: no 500
    assert browser.get("/mail/").status_code == 200
    assert browser.get("/settings/accounts/").status_code == 200
    # Opening the page stored the current password again, readable.
    assert MailAccount.objects.get(user=owner.user).imap_password == owner.mail.password
