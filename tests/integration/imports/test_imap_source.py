"""The IMAP source, one run at a time in this process, against the real Dovecot (a second user
plays the external account): folders, flags, new mail, UIDVALIDITY changes, moves, deletion."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.conftest import MailUser
from tests.integration.imports.conftest import External, Owner
from tests.integration.imports.support import folder_messages, ids_of, mailbox, pop_messages
from webmail.devstack.dovecot import DovecotInstance
from webmail.imports import service
from webmail.imports.models import ExternalAccount, FetchRun, LedgerEntry
from webmail.imports.sources.imap import message_key

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

FOLDERS = ["INBOX", "Work", "Work/2025", "Sent"]


def run(account: ExternalAccount) -> FetchRun:
    result = service.account_import(account_id=account.pk)
    assert result is not None
    result.refresh_from_db()
    return result


@pytest.fixture
def imap_account(
    make_account: Callable[..., ExternalAccount], dovecot: DovecotInstance
) -> Callable[..., ExternalAccount]:
    def make(**fields: Any) -> ExternalAccount:
        values: dict[str, Any] = {"protocol": "imap", "port": dovecot.imap_port, "security": "starttls"}
        values.update(fields)
        return make_account(**values)

    return make


def seed_folders(external: External, per_folder: int, *, seed: int) -> dict[str, set[str]]:
    """Distinct messages in each folder (some read, some flagged); Trash has some too."""
    expected: dict[str, set[str]] = {}
    for n, folder in enumerate([*FOLDERS, "Trash"]):
        items = pop_messages(per_folder, seed=seed * 100 + n, sizes=(400, 3_000))
        flagged = [
            (raw, "S" if i % 3 == 0 else ("F" if i % 3 == 1 else ""), when)
            for i, (raw, _f, when) in enumerate(items)
        ]
        external.dovecot.write_messages(external.email, folder, flagged)
        expected[folder] = ids_of(items)
    return expected


def label(external: External) -> str:
    return external.email.replace(".", "\u2024")


def mailbox_ids(owner: Owner, dovecot: DovecotInstance) -> dict[str, Counter[str]]:
    client = mailbox(dovecot.imap_port, owner.mail.email, owner.mail.password)
    try:
        names = [name for flags, _d, name in client.list_folders() if b"\\Noselect" not in flags]
        return {name: Counter(str(m["message_id"]) for m in folder_messages(client, name)) for name in names}
    finally:
        client.logout()


def flags_by_id(owner: Owner, dovecot: DovecotInstance, folder: str) -> dict[str, set[bytes]]:
    client = mailbox(dovecot.imap_port, owner.mail.email, owner.mail.password)
    try:
        return {str(m["message_id"]): set(m["flags"]) for m in folder_messages(client, folder)}  # type: ignore[call-overload]
    finally:
        client.logout()


def all_ids(found: dict[str, Counter[str]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for counts in found.values():
        total.update(counts)
    return total


def test_every_folder_but_trash_goes_under_the_label_with_its_flags_and_new_mail_follows(
    imap_account: Callable[..., ExternalAccount], external: External, owner: Owner, dovecot: DovecotInstance
) -> None:
    expected = seed_folders(external, 6, seed=1)
    account = imap_account()

    first = run(account)
    assert (first.status, first.imported, first.on_server) == ("ok", 24, 24)
    found = mailbox_ids(owner, dovecot)
    base = label(external)
    assert set(found["INBOX"]) == expected["INBOX"]  # "Inbox" target: the Inbox into the inbox
    assert set(found[f"{base}/Work"]) == expected["Work"]
    assert set(found[f"{base}/Work/2025"]) == expected["Work/2025"]
    assert set(found[f"{base}/Sent"]) == expected["Sent"]
    assert not expected["Trash"] & set(all_ids(found))  # deleted mail is not brought over
    assert max(all_ids(found).values()) == 1
    # Read and flagged carried over, nothing else added.
    flags = flags_by_id(owner, dovecot, f"{base}/Work")
    assert sum(b"\\Seen" in f for f in flags.values()) == 2
    assert sum(b"\\Flagged" in f for f in flags.values()) == 2
    # (Dovecot's own attachment keywords, set as the mail is stored, are not ours.)
    ours = {b"\\Recent", b"$HasAttachment", b"$HasNoAttachment"}
    assert sum(not (f - ours) for f in flags.values()) == 2
    # Importing marked nothing read on the source (BODY.PEEK).
    source = mailbox(dovecot.imap_port, external.email, external.password)
    unread = [m for m in folder_messages(source, "Work") if b"\\Seen" not in m["flags"]]  # type: ignore[operator]
    source.logout()
    assert len(unread) == 4

    assert run(account).imported == 0
    more = pop_messages(3, seed=999)
    dovecot.write_messages(external.email, "Work", more)
    third = run(account)
    assert (third.imported, third.duplicates) == (3, 0)
    assert set(mailbox_ids(owner, dovecot)[f"{base}/Work"]) == expected["Work"] | ids_of(more)
    keys = set(LedgerEntry.objects.filter(account=account).values_list("uidl", flat=True))
    assert any(k.endswith(":Work/2025") for k in keys) and len(keys) == 27


def test_a_new_uidvalidity_and_moves_within_the_source_store_nothing_twice(
    imap_account: Callable[..., ExternalAccount], external: External, owner: Owner, dovecot: DovecotInstance
) -> None:
    seed_folders(external, 5, seed=2)
    account = imap_account(target=ExternalAccount.Target.LABEL)
    assert run(account).imported == 20
    before = all_ids(mailbox_ids(owner, dovecot))

    source = mailbox(dovecot.imap_port, external.email, external.password)
    old = source.select_folder("Work")[b"UIDVALIDITY"]
    recreate(source, "Work")  # the server renumbers the folder: a new UIDVALIDITY, new UIDs
    assert source.select_folder("Work")[b"UIDVALIDITY"] != old
    source.select_folder("Work/2025")
    source.move([source.search(["ALL"])[0]], "Sent")  # moved within the source
    source.logout()

    again = run(account)
    assert (again.imported, again.duplicates) == (0, 6)
    after = all_ids(mailbox_ids(owner, dovecot))
    assert after == before and max(after.values()) == 1
    assert run(account).imported == 0


def recreate(client: Any, folder: str) -> None:
    """Move every message out, delete and re-create the folder, move them back."""
    client.create_folder("Tmp-recreate")
    client.select_folder(folder)
    client.move(client.search(["ALL"]), "Tmp-recreate")
    client.close_folder()
    client.delete_folder(folder)
    client.create_folder(folder)
    client.select_folder("Tmp-recreate")
    client.move(client.search(["ALL"]), folder)
    client.close_folder()
    client.delete_folder("Tmp-recreate")


def test_chosen_folders_only_and_delete_once_stored(
    imap_account: Callable[..., ExternalAccount], external: External, owner: Owner, dovecot: DovecotInstance
) -> None:
    expected = seed_folders(external, 4, seed=3)
    account = imap_account(folders="Work\nINBOX", leave_copy=False, target=ExternalAccount.Target.LABEL)
    first = run(account)
    assert (first.imported, first.deleted) == (8, 8)
    found = mailbox_ids(owner, dovecot)
    base = label(external)
    assert set(found[base]) == expected["INBOX"]  # "label" target: the Inbox into the label
    assert set(found[f"{base}/Work"]) == expected["Work"]
    assert f"{base}/Sent" not in found
    assert dovecot.message_count(external.email, "Work") == 0
    assert dovecot.message_count(external.email) == 0
    assert dovecot.message_count(external.email, "Sent") == 4  # not chosen: left alone


def test_the_settings_form_adds_an_imap_account_after_testing_it_and_names_a_missing_folder(
    login: Callable[[MailUser], Client], owner: Owner, external: External, dovecot: DovecotInstance
) -> None:
    browser = login(owner.mail)
    page = browser.get("/settings/accounts/add/?protocol=imap").content.decode()
    assert 'value="993"' in page and "IMAP server" in page
    form = _account_form(
        external, "imap", dovecot.imap_port, leave_copy="on", target="label", folders="Nowhere"
    )
    refused = browser.post("/settings/accounts/add/", form)
    assert refused.status_code == 200
    assert "The server has no folder named “Nowhere”" in refused.content.decode()
    assert not ExternalAccount.objects.filter(user=owner.user).exists()
    form["folders"] = ""
    assert browser.post("/settings/accounts/add/", form).status_code == 302
    account = ExternalAccount.objects.get(user=owner.user)
    assert account.protocol == "imap"
    page = browser.get("/settings/accounts/").content.decode()
    assert "IMAP" in page and external.email in page


def test_keys_are_bounded_and_name_the_folder() -> None:
    assert message_key("Work/2025", 7, 42) == "7:42:Work/2025"
    long = message_key("x" * 400, 7, 42)
    assert len(long) <= 255 and long.startswith("7:42:#")


def test_the_settings_form_offers_pop3_and_imap_never_archives(
    login: Callable[[MailUser], Client], owner: Owner, external: External, dovecot: DovecotInstance
) -> None:
    browser = login(owner.mail)
    page = browser.get("/settings/accounts/add/").content.decode()
    assert 'name="protocol" value="pop3"' in page and 'name="protocol" value="imap"' in page
    assert 'value="archive"' not in page  # archives come in by upload
    form = _account_form(external, "archive", dovecot.pop3_port, target="inbox")
    refused = browser.post("/settings/accounts/add/", form)
    assert refused.status_code == 200
    assert "Select a valid choice" in refused.content.decode()
    assert not ExternalAccount.objects.filter(user=owner.user).exists()


def _account_form(external: External, protocol: str, port: int, **fields: object) -> dict[str, object]:
    """The add-account form as a person fills it in for ``external``, plus ``fields``."""
    return {
        "email": external.email,
        "protocol": protocol,
        "host": "127.0.0.1",
        "port": port,
        "security": "starttls",
        "username": external.email,
        "password": external.password,
        "interval_minutes": 15,
        **fields,
    }
