"""What the migrations that move a model to its feature's app share.

The table stays where it is (the new model names it in ``db_table``); only
Django's record of which app owns the model changes. That record also lives in
the database: the ``django_content_type`` row that permissions and admin log
entries point at. Renaming its ``app_label`` keeps every grant and every log
entry attached to the same model, with no data copied.

Imported by migrations, so its behaviour must never change: a different need
gets a new function.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import migrations


def move_content_types(old_app: str, new_app: str, models: Sequence[str]) -> migrations.RunPython:
    """A reversible operation that hands the content types of ``models`` to ``new_app``."""

    def forward(apps: Any, schema_editor: Any) -> None:
        _move(apps, schema_editor.connection.alias, old_app, new_app, models)

    def backward(apps: Any, schema_editor: Any) -> None:
        _move(apps, schema_editor.connection.alias, new_app, old_app, models)

    return migrations.RunPython(forward, backward)


def _move(apps: Any, db: str, source: str, target: str, models: Sequence[str]) -> None:
    content_types = apps.get_model("contenttypes", "ContentType").objects.db_manager(db)
    for model in models:
        old = content_types.filter(app_label=source, model=model).first()
        if old is None:
            continue  # a fresh database: post_migrate creates the new one at the end
        new = content_types.filter(app_label=target, model=model).first()
        if new is None:
            content_types.filter(pk=old.pk).update(app_label=target)
        else:
            # Both exist (post_migrate ran in between, e.g. a migrate stopped halfway):
            # keep the new row and bring over what points at the old one.
            _merge(apps, db, old, new)
    content_types.clear_cache()


def _merge(apps: Any, db: str, old: Any, new: Any) -> None:
    permissions = apps.get_model("auth", "Permission").objects.db_manager(db)
    for permission in permissions.filter(content_type=old):
        twin = permissions.filter(content_type=new, codename=permission.codename).first()
        if twin is None:
            permissions.filter(pk=permission.pk).update(content_type=new)
            continue
        twin.user_set.add(*permission.user_set.all())
        twin.group_set.add(*permission.group_set.all())
        permission.delete()
    try:
        log_entries = apps.get_model("admin", "LogEntry").objects.db_manager(db)
    except LookupError:
        pass  # the admin is not installed
    else:
        log_entries.filter(content_type=old).update(content_type=new)
    old.delete()
