"""The user query compiled once (accounts/userquery.py) builds what the ORM builds.

``ImapBackend.get_user`` reads the signed-in user and their mail account with it on every
request: every field must come out as the ORM's own ``select_related`` query makes it
(dates, booleans, the encrypted password), a user without an account must have none, and
an id that names nobody must give nobody.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from accounts.backends import ImapBackend
from accounts.models import MailAccount
from accounts.userquery import user_with_account

pytestmark = pytest.mark.django_db


def _fields(obj: Any) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_the_same_user_and_account_as_the_orm() -> None:
    user = User.objects.create_user("reader@example.test", "reader@example.test", first_name="Zoë")
    user.last_login = timezone.now()
    user.save()
    MailAccount.objects.create(
        user=user,
        email="reader@example.test",
        is_mailbox_user=True,
        imap_password="kept secret",  # encrypted at rest: its converter must run
        last_login=timezone.now(),
    )
    expected = User.objects.select_related("mail_account").get(pk=user.pk)
    got = user_with_account(user.pk)
    assert got is not None
    assert _fields(got) == _fields(expected)
    assert _fields(got.mail_account) == _fields(expected.mail_account)
    assert got.mail_account.imap_password == "kept secret"
    assert got.mail_account.user is got  # joined both ways, no further query
    assert ImapBackend().get_user(user.pk) == user


def test_a_user_without_account_has_none() -> None:
    local = User.objects.create_user("local", "local@example.test")
    got = user_with_account(local.pk)
    assert got is not None and got.pk == local.pk
    with pytest.raises(User.mail_account.RelatedObjectDoesNotExist):
        got.mail_account  # noqa: B018 - the attribute access is what is tested
    assert ImapBackend().get_user(local.pk) is None


def test_an_unknown_id_is_nobody() -> None:
    assert user_with_account(10**9) is None
    assert ImapBackend().get_user(10**9) is None


def test_a_string_id_from_the_session_is_read_as_the_orm_reads_it() -> None:
    user = User.objects.create_user("s@example.test", "s@example.test")
    MailAccount.objects.create(user=user, email="s@example.test", is_mailbox_user=True)
    got = user_with_account(str(user.pk))
    assert got is not None and got.pk == user.pk


def test_a_django_that_compiles_the_query_otherwise_falls_back_to_the_orm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from accounts import userquery

    def changed_shape(alias: str) -> Any:
        raise KeyError("related_klass_infos")  # as a Django release with other compiler internals

    user = User.objects.create_user("f@example.test", "f@example.test")
    MailAccount.objects.create(user=user, email="f@example.test", is_mailbox_user=True, imap_password="pw")
    userquery._compiled.cache_clear()
    monkeypatch.setattr(userquery, "_compile", changed_shape)
    try:
        got = user_with_account(user.pk)
        assert got is not None and got.mail_account.imap_password == "pw"
        assert user_with_account(10**9) is None
        assert ImapBackend().get_user(user.pk) == user
    finally:
        userquery._compiled.cache_clear()
