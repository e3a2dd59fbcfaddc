"""Moving a feature's models to its own app loses nothing from a database made before the move.

The database is taken back to the last migration before the move (accounts
0005), filled through the historical models with a row of every moved model,
a permission granted to a user and an admin log entry, then migrated to today.
Today's models must find every row, foreign key, encrypted secret, grant and
log entry, and the tables must still enforce their constraints.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from accounts.models import MailAccount
from webmail.compose.models import KnownAddress
from webmail.imports.models import ExternalAccount, FetchRun, LedgerEntry
from webmail.reading.models import Preferences, TrustedSender
from webmail.sendas.models import Identity

pytestmark = [pytest.mark.django_db(transaction=True)]

BEFORE_MOVE = [("accounts", "0005_mailbox_users_and_credential_attempts")]
MOVED = {
    "imports": ["externalaccount", "fetchrun", "ledgerentry"],
    "sendas": ["identity"],
    "compose": ["knownaddress"],
    "reading": ["preferences", "trustedsender"],
}
WHEN = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _migrate(targets: list[tuple[str, str]] | None) -> Any:
    """Migrate to ``targets`` (None: the latest of every app); returns the historical apps there."""
    executor = MigrationExecutor(connection)
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    ContentType.objects.clear_cache()
    loader = MigrationExecutor(connection).loader
    # The state there, with Django's own apps as they are (accounts' history needs few of them).
    django_apps = [node for node in loader.graph.leaf_nodes() if node[0] in ("admin", "auth", "contenttypes")]
    return loader.project_state([*targets, *django_apps]).apps


@pytest.fixture
def old_apps() -> Iterator[Any]:
    apps = _migrate(BEFORE_MOVE)
    yield apps
    _migrate(None)  # whatever the test did, leave the database at today's schema


def _populate(apps: Any) -> dict[str, Any]:
    """One row of everything that moves, written as the code before the move wrote it."""
    User = apps.get_model("auth", "User")
    ContentType_ = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    LogEntry_ = apps.get_model("admin", "LogEntry")
    model = lambda name: apps.get_model("accounts", name)  # noqa: E731

    user = User.objects.create(username="mover@example.test", email="mover@example.test")
    admin_user = User.objects.create(username="admin", is_staff=True)
    model("MailAccount").objects.create(user=user, email=user.email, imap_password="imap-secret")
    account = model("ExternalAccount").objects.create(
        user=user,
        email="Me.Elsewhere@example.net",
        host="pop.example.net",
        port=995,
        security="tls",
        username="me",
        password="pop-secret",
        leave_copy=False,
        target="label",
        total_imported=7,
        last_error="the connection was lost",
        # Paused: a Celery worker and beat of this test session may be running, and would
        # otherwise check this account (and overwrite its last error) mid-test.
        enabled=False,
    )
    run = model("FetchRun").objects.create(
        account=account, trigger="user", status="ok", started_at=WHEN, finished_at=WHEN, imported=7
    )
    entry = model("LedgerEntry").objects.create(
        account=account, uidl="UID-1", state="stored", size=1234, message_id="<m1@x>", folder="INBOX"
    )
    identity = model("Identity").objects.create(
        user=user,
        email="me@example.net",
        display_name="Me",
        route="external",
        smtp_host="smtp.example.net",
        smtp_password="smtp-secret",
        verified_at=WHEN,
    )
    known = model("KnownAddress").objects.create(user=user, email="friend@example.org", name="Friend")
    prefs = model("Preferences").objects.create(user=user, mark_read_on_open=False, prefer_html=False)
    trusted = model("TrustedSender").objects.create(user=user, email="news@example.org")

    content_type, _ = ContentType_.objects.get_or_create(app_label="accounts", model="externalaccount")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename="change_externalaccount",
        defaults={"name": "Can change external POP3 account"},
    )
    admin_user.user_permissions.add(permission)
    log = LogEntry_.objects.create(
        user=admin_user,
        content_type=content_type,
        object_id=str(account.pk),
        object_repr="Me.Elsewhere@example.net",
        action_flag=CHANGE,
        change_message="[]",
        action_time=WHEN,
    )
    return {
        "user": user.pk,
        "admin": admin_user.pk,
        "account": account.pk,
        "run": run.pk,
        "entry": entry.pk,
        "identity": identity.pk,
        "known": known.pk,
        "prefs": prefs.pk,
        "trusted": trusted.pk,
        "content_type": content_type.pk,
        "permission": permission.pk,
        "log": log.pk,
    }


def _check_everything_is_there(ids: dict[str, Any]) -> None:
    user = get_user_model().objects.get(pk=ids["user"])
    account = ExternalAccount.objects.get(pk=ids["account"])
    assert (account.user, account.email, account.host, account.username) == (
        user,
        "Me.Elsewhere@example.net",
        "pop.example.net",
        "me",
    )
    assert account.password == "pop-secret"  # still decrypts
    assert (account.leave_copy, account.target, account.total_imported) == (False, "label", 7)
    assert account.last_error == "the connection was lost"
    assert account.enabled is False
    assert list(account.runs.values_list("pk", "imported")) == [(ids["run"], 7)]
    assert list(account.ledger.values_list("pk", "uidl", "state")) == [(ids["entry"], "UID-1", "stored")]
    assert FetchRun.objects.get(pk=ids["run"]).account == account
    assert LedgerEntry.objects.get(pk=ids["entry"]).account == account

    identity = Identity.objects.get(pk=ids["identity"])
    assert (identity.user, identity.email, identity.smtp_password) == (user, "me@example.net", "smtp-secret")
    assert list(user.identities.all()) == [identity]
    assert KnownAddress.objects.get(pk=ids["known"]).name == "Friend"
    assert Preferences.for_user(user).pk == ids["prefs"] and not Preferences.for_user(user).prefer_html
    assert list(TrustedSender.objects.filter(user=user).values_list("email", flat=True)) == [
        "news@example.org"
    ]
    assert MailAccount.objects.get(user=user).imap_password == "imap-secret"

    # The same content type row, now the imports app's: the grant and the log entry follow it.
    content_type = ContentType.objects.get_for_model(ExternalAccount)
    assert content_type.pk == ids["content_type"]
    admin_user = get_user_model().objects.get(pk=ids["admin"])
    assert admin_user.has_perm("imports.change_externalaccount")
    assert not admin_user.has_perm("accounts.change_externalaccount")
    log = LogEntry.objects.get(pk=ids["log"])
    assert log.get_edited_object() == account
    assert log.get_admin_url() == f"/admin/imports/externalaccount/{account.pk}/change/"

    # No content type is left behind in accounts for a moved model; each has exactly one.
    for app_label, models in MOVED.items():
        for model in models:
            assert not ContentType.objects.filter(app_label="accounts", model=model).exists()
            assert ContentType.objects.filter(app_label=app_label, model=model).count() == 1

    # The tables kept their constraints: one running run per account, one row per UIDL.
    FetchRun.objects.create(account=account, status="running", started_at=WHEN)
    with pytest.raises(IntegrityError), transaction.atomic():
        FetchRun.objects.create(account=account, status="running", started_at=WHEN)
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(account=account, uidl="UID-1", state="pending")


def test_a_database_from_before_the_move_keeps_every_row_grant_and_log_entry(old_apps: Any) -> None:
    ids = _populate(old_apps)
    _migrate(None)
    _check_everything_is_there(ids)


def test_the_move_merges_a_content_type_created_before_it_ran(old_apps: Any) -> None:
    """A migrate stopped halfway may have let post_migrate create the new app's content type already."""
    ids = _populate(old_apps)
    Permission = old_apps.get_model("auth", "Permission")
    early = old_apps.get_model("contenttypes", "ContentType").objects.create(
        app_label="imports", model="externalaccount"
    )
    Permission.objects.create(content_type=early, codename="change_externalaccount", name="Can change")
    _migrate(None)
    # The early row is kept, and the grant made before the move now points at it.
    assert ContentType.objects.get_for_model(ExternalAccount).pk == early.pk
    admin_user = get_user_model().objects.get(pk=ids["admin"])
    assert admin_user.has_perm("imports.change_externalaccount")
    assert LogEntry.objects.get(pk=ids["log"]).get_edited_object().pk == ids["account"]
    assert not ContentType.objects.filter(app_label="accounts", model="externalaccount").exists()


def test_going_back_before_the_move_gives_the_content_types_back() -> None:
    """The move is reversible: taken back, accounts owns the content types again."""
    today = ContentType.objects.get_for_model(Identity).pk
    try:
        apps = _migrate(BEFORE_MOVE)
        old = apps.get_model("contenttypes", "ContentType").objects.get(
            app_label="accounts", model="identity"
        )
        assert old.pk == today
        assert apps.get_model("accounts", "Identity")._meta.db_table == "accounts_identity"
    finally:
        _migrate(None)
    assert ContentType.objects.get_for_model(Identity).pk == today
