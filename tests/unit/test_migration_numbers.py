"""No two migrations of an app share a number (accounts' two 0003s predate this check)."""

from __future__ import annotations

from collections import defaultdict

from django.db.migrations.loader import MigrationLoader

# Applied databases record migrations by name, so these two keep theirs; their
# order is set by their dependencies (identities first, then the POP import models).
LEGACY = {
    ("accounts", "0003"): {
        "0003_identities_known_addresses",
        "0003_externalaccount_fetchrun_ledgerentry_and_more",
    }
}


def test_each_migration_number_is_used_once_per_app() -> None:
    names: dict[tuple[str, str], set[str]] = defaultdict(set)
    for app, name in MigrationLoader(None, ignore_no_migrations=True).disk_migrations:
        names[(app, name[:4])].add(name)
    clashes = {key: found for key, found in names.items() if len(found) > 1 and LEGACY.get(key) != found}
    assert not clashes, f"renumber the newer migration: {clashes}"
