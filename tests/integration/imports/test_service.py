"""One import run, in this process, against the real Dovecot (POP3 in, IMAP APPEND out)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from django.utils import timezone

from tests.integration.imports.conftest import External, Owner
from tests.integration.imports.support import folder_messages, ids_of, mailbox, maildir_ids, pop_messages
from webmail.devstack.dovecot import DovecotInstance
from webmail.imports import ledger, service
from webmail.imports.models import ExternalAccount, FetchRun, LedgerEntry
from webmail.imports.selectors import account_statuses
from webmail.mailaccess.append import MailboxWriter
from webmail.mailaccess.pop3 import Pop3Client

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


class Crash(BaseException):
    """Stands for SIGKILL: nothing in the service catches it, no clean-up runs."""


def run(account: ExternalAccount) -> FetchRun:
    result = service.account_import(account_id=account.pk)
    assert result is not None
    result.refresh_from_db()
    return result


def expire_leases() -> None:
    """What time does for a killed worker's lock."""
    FetchRun.objects.filter(status=FetchRun.Status.RUNNING).update(lease_until=timezone.now() - timedelta(1))


def test_import_keeps_dates_and_flags_and_a_second_run_imports_nothing(
    make_account: Callable[..., ExternalAccount], external: External, owner: Owner, dovecot: DovecotInstance
) -> None:
    items = pop_messages(12)
    external.seed(items)
    account = make_account(target=ExternalAccount.Target.LABEL, mark_seen=True)

    first = run(account)
    assert (first.status, first.imported, first.on_server) == ("ok", 12, 12)

    client = mailbox(dovecot.imap_port, owner.mail.email, owner.mail.password)
    # Dovecot's Maildir++ refuses "." in a name: the look-alike keeps the address readable.
    folder = external.email.replace(".", "\u2024")
    assert folder in [name for _f, _d, name in client.list_folders()]
    stored = folder_messages(client, folder)
    assert {m["message_id"] for m in stored} == ids_of(items)
    for message in stored:
        assert b"\\Seen" in message["flags"]
        # The original date, not the import time (imapclient gives naive local time).
        date_line = next(line for line in message["head"].splitlines() if line.lower().startswith(b"date:"))
        sent = parsedate_to_datetime(date_line[5:].decode().strip())
        assert message["internaldate"] == sent.astimezone().replace(tzinfo=None)
    client.logout()
    assert external.count() == 12  # "leave a copy" is on by default

    second = run(account)
    assert (second.status, second.imported) == ("ok", 0)
    assert sum(maildir_ids(dovecot, owner.mail.email, folder).values()) == 12
    account.refresh_from_db()
    assert (account.last_imported, account.total_imported, account.last_error) == (0, 12, "")
    assert account.next_run_at > timezone.now() + timedelta(minutes=14)


def test_the_folder_named_after_the_account_reads_as_the_address_and_an_older_one_is_kept(
    make_account: Callable[..., ExternalAccount], external: External, owner: Owner, dovecot: DovecotInstance
) -> None:
    external.seed(pop_messages(2, seed=12))
    account = make_account(target=ExternalAccount.Target.LABEL, email="Me.Typed@Example.Net")
    assert run(account).imported == 2
    client = mailbox(dovecot.imap_port, owner.mail.email, owner.mail.password)
    names = [name for _f, _d, name in client.list_folders()]
    # As typed: case kept, dots shown as dots (ONE DOT LEADER), not "Me_Typed@Example_Net".
    assert "Me\u2024Typed@Example\u2024Net" in names
    assert not any("_" in name for name in names)

    # An account whose folder an older release named with "_" keeps filling that folder.
    client.create_folder("Old.Account@example_net".replace(".", "_"))
    account.delete()  # (one account per login: the same mailbox plays the older account)
    external.seed(pop_messages(1, seed=13))
    older = make_account(target=ExternalAccount.Target.LABEL, email="Old.Account@example.net")
    assert run(older).imported == 3
    assert len(folder_messages(client, "Old_Account@example_net")) == 3
    assert "Old\u2024Account@example\u2024net" not in [name for _f, _d, name in client.list_folders()]
    client.logout()


def test_leave_copy_off_removes_them_from_the_server_once_stored(
    make_account: Callable[..., ExternalAccount], external: External, owner: Owner, dovecot: DovecotInstance
) -> None:
    items = pop_messages(15, seed=2)
    external.seed(items)
    account = make_account(leave_copy=False)
    result = run(account)
    assert (result.imported, result.deleted) == (15, 15)
    assert external.count() == 0
    inbox = maildir_ids(dovecot, owner.mail.email)
    assert {k for k, n in inbox.items() if n == 1} >= ids_of(items)
    assert not LedgerEntry.objects.filter(account=account, deleted_at__isnull=True).exists()


@pytest.mark.parametrize("where", ["before APPEND", "after APPEND, before the ledger commit", "before QUIT"])
def test_a_crash_anywhere_then_a_new_run_stores_each_message_exactly_once(
    where: str,
    make_account: Callable[..., ExternalAccount],
    external: External,
    owner: Owner,
    dovecot: DovecotInstance,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    items = pop_messages(25, seed=3)
    external.seed(items)
    account = make_account(leave_copy=False, security="none")

    calls = {"n": 0}

    def crash_on_second(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls["n"] += 1
            if calls["n"] == 2:  # the first batch goes through; the second dies here
                raise Crash
            return original(*args, **kwargs)

        return wrapper

    if where == "before QUIT":
        monkeypatch.setattr(Pop3Client, "quit", lambda self: (_ for _ in ()).throw(Crash()))
    elif where == "before APPEND":
        monkeypatch.setattr(MailboxWriter, "append", crash_on_second(MailboxWriter.append))
    else:
        monkeypatch.setattr(ledger, "record", crash_on_second(ledger.record))

    with pytest.raises(Crash):
        service.account_import(account_id=account.pk)
    on_server = maildir_ids(dovecot, external.email)
    in_mailbox = maildir_ids(dovecot, owner.mail.email)
    # Batches of 10: where the crash hit decides what the next run finds.
    expected = {"before APPEND": (10, 10), "after APPEND, before the ledger commit": (20, 10)}
    stored, pending = expected.get(where, (25, 0))
    assert sum(in_mailbox.values()) == stored
    assert LedgerEntry.objects.filter(account=account, state="pending").count() == pending
    # No DELE took effect without QUIT, and nothing missing from the server is missing from the mailbox.
    assert sum(on_server.values()) == 25
    assert ids_of(items) - set(on_server) <= set(in_mailbox)

    monkeypatch.undo()
    expire_leases()
    result = run(account)
    assert result.status == "ok"
    in_mailbox = maildir_ids(dovecot, owner.mail.email)
    assert set(in_mailbox) == ids_of(items)
    assert set(in_mailbox.values()) == {1}  # exactly once
    assert external.count() == 0
    statuses = list(FetchRun.objects.filter(account=account).order_by("pk").values_list("status", flat=True))
    assert statuses == ["interrupted", "ok"]


def test_too_large_messages_are_skipped_reported_and_left_on_the_server(
    make_account: Callable[..., ExternalAccount], external: External, owner: Owner, pop_settings: Any
) -> None:
    items = pop_messages(10, seed=4, sizes=(500, 60_000))
    big = {m for m, (raw, _f, _t) in zip(sorted(ids_of(items)), items, strict=True) if len(raw) > 50_000}
    external.seed(items)
    too_big = sum(1 for raw, _f, _t in items if len(raw) > 50_000)
    assert 0 < too_big < 10 and big
    pop_settings.WEBMAIL_POP_MAX_MESSAGE_BYTES = 50_000
    account = make_account(leave_copy=False)

    result = run(account)
    assert (result.imported, result.skipped) == (10 - too_big, too_big)
    assert external.count() == too_big  # never deleted: it is not stored
    [status] = account_statuses(owner.user)
    assert status.left_on_server == too_big

    pop_settings.WEBMAIL_POP_MAX_MESSAGE_BYTES = 1_000_000  # the admin raises the limit
    result = run(account)
    assert (result.imported, result.skipped) == (too_big, 0)
    assert external.count() == 0


def test_alone_a_run_goes_past_its_cap_with_the_same_sessions(
    make_account: Callable[..., ExternalAccount], external: External, pop_settings: Any
) -> None:
    external.seed(pop_messages(12, seed=5))
    pop_settings.WEBMAIL_POP_MAX_MESSAGES_PER_RUN = 5
    account = make_account()
    result = run(account)
    assert (result.status, result.imported, result.remaining) == ("ok", 12, 0)


def test_a_run_stops_at_its_cap_while_another_account_waits(
    make_account: Callable[..., ExternalAccount],
    external: External,
    pop_settings: Any,
    django_user_model: Any,
) -> None:
    external.seed(pop_messages(12, seed=5))
    pop_settings.WEBMAIL_POP_MAX_MESSAGES_PER_RUN = 5
    account = make_account()
    waiting = make_account(user=django_user_model.objects.create(username="someone@example.test"))
    ExternalAccount.objects.filter(pk=waiting.pk).update(next_run_at=timezone.now() - timedelta(minutes=1))
    results = [run(account) for _ in range(3)]
    assert [(r.status, r.imported, r.remaining) for r in results] == [
        ("partial", 5, 7),
        ("partial", 5, 2),
        ("ok", 2, 0),
    ]
    account.refresh_from_db()
    assert account.total_imported == 12
    assert account.next_run_at > timezone.now()  # done: the next check is a whole interval away


def test_a_uidl_reset_on_the_server_does_not_flood_the_mailbox(
    make_account: Callable[..., ExternalAccount], external: External, owner: Owner, dovecot: DovecotInstance
) -> None:
    items = pop_messages(10, seed=6)
    external.seed(items)
    account = make_account()
    assert run(account).imported == 10
    old_uidls = set(LedgerEntry.objects.filter(account=account).values_list("uidl", flat=True))

    # The server is "migrated": Dovecot forgets its UIDs and hands out a new UIDVALIDITY.
    time.sleep(1.1)  # UIDVALIDITY is a time in seconds
    maildir = dovecot.maildir(external.email)
    for path in maildir.iterdir():
        if path.name.startswith(("dovecot-uidlist", "dovecot.index")):
            path.unlink()
    newer = pop_messages(2, seed=7)
    external.seed(newer)

    result = run(account)
    new_uidls = set(LedgerEntry.objects.filter(account=account).values_list("uidl", flat=True)) - old_uidls
    assert len(new_uidls) == 12  # every message came back under a new UIDL
    assert (result.imported, result.duplicates) == (2, 10)
    assert set(maildir_ids(dovecot, owner.mail.email).values()) == {1}
    assert sum(maildir_ids(dovecot, owner.mail.email).values()) == 12


def test_a_server_without_uidl_gets_stable_fallback_keys(
    make_account: Callable[..., ExternalAccount],
    external: External,
    owner: Owner,
    dovecot: DovecotInstance,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Pop3Client, "uidl", lambda self: None)
    external.seed(pop_messages(8, seed=8))
    account = make_account()
    assert run(account).imported == 8
    assert run(account).imported == 0
    assert all(k.startswith("~") for k in LedgerEntry.objects.values_list("uidl", flat=True))
    assert sum(maildir_ids(dovecot, owner.mail.email).values()) == 8


def test_delete_after_n_days(make_account: Callable[..., ExternalAccount], external: External) -> None:
    external.seed(pop_messages(6, seed=9))
    account = make_account(leave_copy=True, delete_after_days=3)
    assert (run(account).imported, external.count()) == (6, 6)
    LedgerEntry.objects.filter(account=account).update(stored_at=timezone.now() - timedelta(days=4))
    result = run(account)
    assert (result.imported, result.deleted, external.count()) == (0, 6, 0)


def test_paused_account_is_not_checked(
    make_account: Callable[..., ExternalAccount], external: External
) -> None:
    external.seed(pop_messages(2, seed=10))
    account = make_account(enabled=False, paused_reason=ExternalAccount.Paused.USER)
    assert service.account_import(account_id=account.pk) is None
    assert external.count() == 2 and not FetchRun.objects.exists()


def test_a_run_while_another_holds_the_lock_does_nothing(
    make_account: Callable[..., ExternalAccount], external: External
) -> None:
    external.seed(pop_messages(2, seed=11))
    account = make_account()
    FetchRun.objects.create(
        account=account, started_at=timezone.now(), lease_until=timezone.now() + timedelta(minutes=5)
    )
    assert service.account_import(account_id=account.pk) is None
    assert not LedgerEntry.objects.exists()
