"""Sign-in lockout, attacked from a browser: per account and address, with higher ceilings.

One person's typos must not lock out everyone behind the same address (an
office behind NAT), while guessing one password, or many accounts' passwords
from one address, is still stopped. Every attempt goes to the real Dovecot.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import Client

from tests.conftest import MailUser

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

OFFICE = "198.51.100.7"  # one NAT address for a whole office


def _fail(client: Client, email: str) -> Any:
    return client.post("/login/", {"email": email, "password": "not-the-password"})


def _sign_in(client: Client, user: MailUser) -> Any:
    return client.post("/login/", {"email": user.email, "password": user.password})


def test_typos_for_two_accounts_do_not_lock_out_everyone_behind_one_address(
    imap_settings: object, make_user: Callable[..., MailUser], settings: Any
) -> None:
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 2):  # a few typos each: together more than one account's limit
        _fail(Client(REMOTE_ADDR=OFFICE), alice.email)
        _fail(Client(REMOTE_ADDR=OFFICE), bob.email)
    assert 2 * (limit - 2) >= limit
    # Everyone in the office still signs in, the two who mistyped included.
    for user in (carol, alice, bob):
        assert _sign_in(Client(REMOTE_ADDR=OFFICE), user).status_code == 302, user.email


def test_one_account_from_one_address_is_locked_at_the_limit(
    imap_settings: object, make_user: Callable[..., MailUser], settings: Any
) -> None:
    victim, colleague = make_user("victim"), make_user("colleague")
    attacker = Client(REMOTE_ADDR=OFFICE)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _fail(attacker, victim.email)
    locked = _sign_in(attacker, victim)  # even the right password
    assert locked.status_code == 429
    assert b"Too many failed sign-in attempts. Try again in 15 minutes." in locked.content
    assert "_auth_user_id" not in attacker.session
    # Only that account, only there: a colleague behind the same address, and the
    # victim from home, sign in.
    assert _sign_in(Client(REMOTE_ADDR=OFFICE), colleague).status_code == 302
    assert _sign_in(Client(REMOTE_ADDR="203.0.113.9"), victim).status_code == 302


def test_password_spraying_from_one_address_hits_the_address_ceiling(
    imap_settings: object, make_user: Callable[..., MailUser], settings: Any
) -> None:
    settings.WEBMAIL_LOGIN_IP_FAILURE_LIMIT = 8  # the default is 30; the rule is the same
    bystander = make_user("bystander")
    sprayer = Client(REMOTE_ADDR=OFFICE)
    for n in range(4):  # under each account's limit, over the address's
        for _ in range(2):
            _fail(sprayer, f"target{n}@example.test")
    locked = _sign_in(Client(REMOTE_ADDR=OFFICE), bystander)
    assert locked.status_code == 429
    assert _sign_in(Client(REMOTE_ADDR="203.0.113.10"), bystander).status_code == 302


def test_one_account_guessed_from_many_addresses_is_locked(
    imap_settings: object, make_user: Callable[..., MailUser], settings: Any
) -> None:
    settings.WEBMAIL_LOGIN_ACCOUNT_FAILURE_LIMIT = 6  # the default is 20; the rule is the same
    victim, other = make_user("victim"), make_user("other")
    for n in range(6):
        _fail(Client(REMOTE_ADDR=f"198.51.100.{n + 20}"), victim.email)
    fresh = Client(REMOTE_ADDR="203.0.113.50")
    assert _sign_in(fresh, victim).status_code == 429
    assert _sign_in(fresh, other).status_code == 302


def test_the_form_says_how_many_tries_are_left_the_same_for_unknown_accounts(
    imap_settings: object, mail_user: MailUser, settings: Any
) -> None:
    limit = settings.AXES_FAILURE_LIMIT
    browser = Client(REMOTE_ADDR=OFFICE)
    first = _fail(browser, mail_user.email).content.decode()
    assert "Wrong email address or password." in first
    assert f"{limit - 1} tries left before sign-in is paused for 15 minutes." in first
    for _ in range(limit - 3):
        _fail(browser, mail_user.email)
    assert (
        "1 try left before sign-in is paused for 15 minutes."
        in _fail(browser, mail_user.email).content.decode()
    )
    # An account that does not exist counts down the same way: nothing tells them apart.
    unknown = _fail(Client(REMOTE_ADDR="203.0.113.77"), "nobody-here@example.test").content.decode()
    assert f"{limit - 1} tries left before sign-in is paused for 15 minutes." in unknown


def test_the_lockout_says_how_long_is_really_left(
    imap_settings: object, mail_user: MailUser, settings: Any
) -> None:
    browser = Client(REMOTE_ADDR=OFFICE)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _fail(browser, mail_user.email)
    # Ten of the fifteen minutes have passed since the last failure.
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=10)
    )
    locked = _sign_in(browser, mail_user)
    assert locked.status_code == 429
    assert b"Try again in 5 minutes." in locked.content


def test_retrying_while_locked_out_does_not_lock_the_whole_address(
    imap_settings: object, make_user: Callable[..., MailUser], settings: Any
) -> None:
    settings.WEBMAIL_LOGIN_IP_FAILURE_LIMIT = 10
    impatient, colleague = make_user("impatient"), make_user("colleague")
    browser = Client(REMOTE_ADDR=OFFICE)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _fail(browser, impatient.email)
    for _ in range(15):  # keeps trying while locked: refused, and not counted
        assert _fail(browser, impatient.email).status_code == 429
    assert _sign_in(Client(REMOTE_ADDR=OFFICE), colleague).status_code == 302
