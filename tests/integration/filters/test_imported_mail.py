"""Imported mail through the user's filters (webmail/filters/imported.py), exactly once.

The import stores each message with APPEND into the folder the filters choose,
its intent recorded first with that folder's UID mark; after a crash between
the APPEND and the ledger commit, the copy is looked for in that folder. These
tests use the real Dovecot: POP3 in, IMAP APPEND out, the rules read over
ManageSieve, and a real worker killed at random for the last one.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import MailAccount
from accounts.secret_binding import endpoint_key
from accounts.servers import default_server
from tests.conftest import MailUser
from tests.integration.filters.conftest import FiltersCelery, deliver
from tests.integration.imports.support import maildir_ids, wait_for
from tests.support.mail import imap_login, make_message
from webmail.devstack.dovecot import DovecotInstance
from webmail.imports import ledger, service
from webmail.imports.models import ExternalAccount, FetchRun, LedgerEntry

pytestmark = [pytest.mark.integration]
URL = "/settings/filters/"
BASE = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


class Crash(BaseException):
    """Stands for SIGKILL: nothing in the service catches it, no clean-up runs."""


def kind_of(i: int) -> str:
    return "bank" if i % 3 == 0 else "offer" if i % 5 == 0 else "other"


def messages(count: int, user: MailUser, seed: int = 1) -> list[tuple[bytes, str, float]]:
    """Every third from the bank, some offers (deleted by a filter), the rest plain."""
    rng = random.Random(seed)
    items = []
    for i in range(count):
        kind = kind_of(i)
        sender = "alerts@mybank.test" if kind == "bank" else f"p{i}@example.test"
        subject = f"Special offer {i}" if kind == "offer" else f"Message {i}"
        date = BASE + timedelta(hours=i)
        body = "\n".join(
            "".join(rng.choice("abcdef ") for _ in range(70)) for _ in range(rng.choice((3, 40)))
        )
        raw = (
            f"From: {sender}\nTo: {user.email}\nSubject: {subject}\nDate: {format_datetime(date)}\n"
            f"Message-ID: <{kind}-{seed}-{i}@pop.test>\n\n{body}\n"
        ).encode()
        items.append((raw, "", date.timestamp()))
    return items


def where(dovecot: DovecotInstance, user: MailUser) -> dict[str, dict[str, int]]:
    return {f: dict(maildir_ids(dovecot, user.email, f)) for f in ("INBOX", "Bank", "Trash")}


def setup_filters(web: Client, dovecot: DovecotInstance, user: MailUser) -> None:
    client = imap_login(dovecot.imap_port, user.email, user.password)
    try:
        client.create_folder("Bank")
    finally:
        client.logout()
    for fields in (
        {"sender": "mybank", "move_to": "Bank", "mark_read": "on"},
        {"subject": "offer", "delete": "on"},
    ):
        version = web.get(URL).context["version"]
        form = {"version": version, "larger_unit": "1", "smaller_unit": "1", **fields}
        assert web.post(URL + "new/", form).status_code == 302


def store_mailbox_password(user: MailUser) -> None:
    """As adding an import account does: the mailbox password kept (encrypted) for the worker."""
    account = MailAccount.objects.get(email=user.email)
    account.imap_password = user.password
    account.imap_password_for = endpoint_key(default_server().imap)
    account.save()


def make_account(
    owner: MailUser, external: MailUser, dovecot: DovecotInstance, **fields: Any
) -> ExternalAccount:
    values: dict[str, Any] = {
        "user": MailAccount.objects.get(email=owner.email).user,
        "email": external.email,
        "host": "127.0.0.1",
        "port": dovecot.pop3_port,
        "security": "starttls",
        "username": external.email,
        **fields,
    }
    account = ExternalAccount(**values)
    account.password = external.password
    account.save()
    return account


@pytest.fixture
def pop(settings: Any) -> Any:
    settings.WEBMAIL_POP_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEBMAIL_POP_TIMEOUT = 10.0
    settings.WEBMAIL_POP_BATCH_MESSAGES = 10
    return settings


@pytest.mark.django_db
def test_rules_made_in_the_ui_file_delivered_and_imported_mail_alike(
    web: Client, mail_user: MailUser, make_user: Callable[..., MailUser], dovecot: DovecotInstance, pop: Any
) -> None:
    setup_filters(web, dovecot, mail_user)
    store_mailbox_password(mail_user)
    external = make_user("external")
    items = messages(15, mail_user)
    dovecot.write_messages(external.email, "INBOX", items)
    account = make_account(mail_user, external, dovecot)

    run = service.account_import(account_id=account.pk)
    assert run is not None
    run.refresh_from_db()
    assert (run.status, run.imported) == ("ok", 15)
    found = where(dovecot, mail_user)
    assert {m.split("-")[0][1:] for m in found["Bank"]} == {"bank"} and len(found["Bank"]) == 5
    assert {m.split("-")[0][1:] for m in found["Trash"]} == {"offer"} and len(found["Trash"]) == 2
    assert len(found["INBOX"]) == 8
    # A "delete" counts as handled (stored, in Trash), never as lost.
    folders = dict(LedgerEntry.objects.filter(account=account).values_list("message_id", "folder"))
    assert all(state == "stored" for state in LedgerEntry.objects.values_list("state", flat=True))
    assert {folders[m] for m in found["Trash"]} == {"Trash"}
    bank = imap_login(dovecot.imap_port, mail_user.email, mail_user.password)
    try:
        bank.select_folder("Bank", readonly=True)
        assert len(bank.search(["SEEN"])) == 5
    finally:
        bank.logout()

    # The same rules file the same kind of mail delivered over LMTP.
    raw = make_message(subject="Statement", sender="alerts@mybank.test", to=mail_user.email)
    deliver(dovecot, mail_user.email, raw, sender="alerts@mybank.test")
    assert len(maildir_ids(dovecot, mail_user.email, "Bank")) == 6


@pytest.mark.django_db
def test_a_crash_after_the_append_into_a_filtered_folder_stores_nothing_twice(
    web: Client,
    mail_user: MailUser,
    make_user: Callable[..., MailUser],
    dovecot: DovecotInstance,
    pop: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    setup_filters(web, dovecot, mail_user)
    store_mailbox_password(mail_user)
    external = make_user("external")
    items = messages(25, mail_user, seed=2)
    dovecot.write_messages(external.email, "INBOX", items)
    account = make_account(mail_user, external, dovecot, leave_copy=False)
    original = ledger.record
    calls = {"n": 0}

    def crash_on_second(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise Crash
        return original(*args, **kwargs)

    monkeypatch.setattr(ledger, "record", crash_on_second)
    with pytest.raises(Crash):
        service.account_import(account_id=account.pk)
    # The second batch is in its folders, its rows still "pending", each naming its folder.
    pending = LedgerEntry.objects.filter(account=account, state="pending")
    assert pending.count() == 10
    assert set(pending.values_list("folder", flat=True)) == {"INBOX", "Bank", "Trash"}
    assert sum(sum(f.values()) for f in where(dovecot, mail_user).values()) == 20

    monkeypatch.undo()
    FetchRun.objects.filter(status="running").update(lease_until=timezone.now() - timedelta(1))
    run = service.account_import(account_id=account.pk)
    assert run is not None
    run.refresh_from_db()
    assert run.status == "ok"
    found = where(dovecot, mail_user)
    assert sum(len(f) for f in found.values()) == 25
    assert {count for f in found.values() for count in f.values()} == {1}, "a message was stored twice"
    assert len(found["Bank"]) == 9 and len(found["Trash"]) == 3
    assert LedgerEntry.objects.filter(account=account, state="stored").count() == 25


@pytest.mark.django_db(transaction=True)
def test_sigkill_at_random_during_a_filtered_import_stores_each_message_once_where_its_rules_say(
    filters_celery: FiltersCelery,
    login: Callable[[MailUser], Client],
    mail_user: MailUser,
    make_user: Callable[..., MailUser],
    dovecot: DovecotInstance,
    sieve_settings: DovecotInstance,
    pop: Any,
) -> None:
    web = login(mail_user)
    setup_filters(web, dovecot, mail_user)
    store_mailbox_password(mail_user)
    external = make_user("external")
    count = 200
    items = messages(count, mail_user, seed=3)
    dovecot.write_messages(external.email, "INBOX", items)
    account = make_account(mail_user, external, dovecot, leave_copy=False, security="none")
    rng = random.Random(3)

    def stored() -> int:
        return sum(sum(f.values()) for f in where(dovecot, mail_user).values())

    from webmail.imports import tasks

    tasks.import_account.delay(account.pk, "other")
    kills, seen = 0, 0
    while kills < 2 and stored() < count:
        wait_for(lambda before=seen: stored() > before, timeout=60, what="import progress")
        time.sleep(rng.uniform(0.0, 0.2))
        filters_celery.worker.kill()
        kills += 1
        found = where(dovecot, mail_user)
        assert max((c for f in found.values() for c in f.values()), default=1) == 1, "stored twice"
        seen = stored()
        filters_celery.worker.start()
        tasks.import_account.delay(account.pk, "other")  # as "Check mail now" or the dispatcher would

    wait_for(
        lambda: stored() == count and dovecot.message_count(external.email) == 0, timeout=120, what="the end"
    )
    found = where(dovecot, mail_user)
    assert {count for f in found.values() for count in f.values()} == {1}
    for folder, kind in (("Bank", "bank"), ("Trash", "offer")):
        assert {m.split("-")[0][1:] for m in found[folder]} == {kind}
    assert len(found["Bank"]) == len([i for i in range(count) if kind_of(i) == "bank"])
    assert kills >= 1
