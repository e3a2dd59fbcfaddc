"""The app bar's "reconnect" notice reads what the ORM reads (webmail/imports/paused.py).

Its query is compiled once and run on every page: only the user's own accounts paused for
a withdrawn grant, at most three, in the model's order (by address); and if a Django release
compiles the query otherwise, the ORM's own query answers the same.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from webmail.imports import paused
from webmail.imports.models import ExternalAccount
from webmail.imports.paused import SHOWN, PausedAccount, awaiting_reconnect

pytestmark = pytest.mark.django_db

OAUTH = ExternalAccount.Paused.OAUTH


def _account(user: User, email: str, reason: str) -> ExternalAccount:
    return ExternalAccount.objects.create(
        user=user, email=email, host="127.0.0.1", username=email, paused_reason=reason
    )


def _orm(user: User) -> list[PausedAccount]:
    rows = ExternalAccount.objects.filter(user=user, paused_reason=OAUTH)[:SHOWN]  # the model's order
    return [PausedAccount(a.pk, a.email) for a in rows]


@pytest.fixture
def people() -> tuple[User, User]:
    alice = User.objects.create_user("alice@example.test", "alice@example.test")
    bob = User.objects.create_user("bob@example.test", "bob@example.test")
    _account(alice, "a-ok@example.org", ExternalAccount.Paused.NO)
    _account(alice, "a-user@example.org", ExternalAccount.Paused.USER)
    for n in reversed(range(SHOWN + 1)):  # added last to first: the notice goes by address
        _account(alice, f"a-grant{n}@example.org", OAUTH)
    _account(bob, "b-grant@example.org", OAUTH)
    return alice, bob


def test_only_the_users_own_accounts_paused_for_their_grant(people: tuple[User, User]) -> None:
    alice, bob = people
    got = awaiting_reconnect(alice.pk)
    assert got == _orm(alice)
    assert [a.email for a in got] == [f"a-grant{n}@example.org" for n in range(SHOWN)]
    assert awaiting_reconnect(bob.pk) == [PausedAccount(_orm(bob)[0].pk, "b-grant@example.org")]
    nobody = User.objects.create_user("carol@example.test", "carol@example.test")
    assert awaiting_reconnect(nobody.pk) == []


def test_a_django_that_compiles_it_otherwise_falls_back_to_the_orm(
    people: tuple[User, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = people

    def other_parameters(alias: str) -> tuple[str, tuple[int, int]]:
        raise ValueError("unexpected parameters")  # as _compile says of a query built otherwise

    paused._statement.cache_clear()
    monkeypatch.setattr(paused, "_compile", other_parameters)
    try:
        assert awaiting_reconnect(alice.pk) == _orm(alice)
        assert awaiting_reconnect(bob.pk) == _orm(bob)
    finally:
        paused._statement.cache_clear()
