"""The signed-in user and their mail account, read with SQL the ORM compiled once.

``ImapBackend.get_user`` runs on every signed-in request (twice per message opened: the
reading pane, then its body frame): ``User.objects.select_related("mail_account")
.get(pk=…)``. Building and compiling that queryset costs some 0.3 ms, the database's
answer a few µs. Here the ORM compiles it once per database and vendor, and each call
runs that SQL with its own id, then builds the objects the way the ORM's own iterator
does: the database's and the fields' converters (encrypted fields included), the user
from its columns, the account joined to it as Django's related populator joins it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import connections, router

from .precompiled import compiled_or_none

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@dataclass(frozen=True)
class _Compiled:
    sql: str
    converted: tuple[tuple[int, Any], ...]  # (index, expression) of the columns with converters
    user_columns: slice
    user_attnames: tuple[str, ...]
    account_columns: slice
    account_attnames: tuple[str, ...]
    account_pk: int  # its index in the account's columns: None there means no account
    account_model: Any
    set_account: Any  # the ORM's setters of user.mail_account and account.user
    set_user: Any


def _pk_param(alias: str, user_id: object) -> Any:
    return get_user_model()._meta.pk.get_db_prep_value(user_id, connections[alias])


def _converters(column: Any, connection: Any) -> list[Any]:
    """The column's converters, as the ORM's compiler lists them (this thread's connection)."""
    return list(connection.ops.get_db_converters(column)) + list(column.get_db_converters(connection))


@cache
def _compiled(alias: str, vendor: str) -> _Compiled | None:
    """``vendor`` keys it with ``alias``: a test may point the alias at another database. None,
    once logged, if a Django release compiles the query otherwise: then the ORM runs it."""
    return compiled_or_none(_compile, alias, "user query")


def _compile(alias: str) -> _Compiled:
    query = get_user_model().objects.using(alias).select_related("mail_account").filter(pk=1).query
    compiler = query.get_compiler(using=alias)
    sql, params = compiler.as_sql()
    if list(params) != [_pk_param(alias, 1)]:
        raise RuntimeError("unexpected parameters in the compiled user query")
    select, klass_info = compiler.select, compiler.klass_info
    fields = klass_info["select_fields"]
    user_columns = slice(fields[0], fields[-1] + 1)
    (account,) = klass_info["related_klass_infos"]
    if account["from_parent"] or account["related_klass_infos"]:
        raise RuntimeError("unexpected shape of the compiled user query")
    account_columns = slice(account["select_fields"][0], account["select_fields"][-1] + 1)
    account_attnames = tuple(s[0].target.attname for s in select[account_columns])
    return _Compiled(
        sql=sql,
        converted=tuple((i, s[0]) for i, s in enumerate(select) if _converters(s[0], compiler.connection)),
        user_columns=user_columns,
        user_attnames=tuple(s[0].target.attname for s in select[user_columns]),
        account_columns=account_columns,
        account_attnames=account_attnames,
        account_pk=account_attnames.index(account["model"]._meta.pk.attname),
        account_model=account["model"],
        set_account=account["local_setter"],
        set_user=account["remote_setter"],
    )


def _user_by_orm(user_id: Any) -> User | None:
    user_model = get_user_model()
    try:
        return user_model.objects.select_related("mail_account").get(pk=user_id)
    except user_model.DoesNotExist:
        return None


def user_with_account(user_id: object) -> User | None:
    """The user with this id, its ``mail_account`` already loaded (or known absent)."""
    alias = router.db_for_read(get_user_model())
    connection = connections[alias]
    compiled = _compiled(alias, connection.vendor)
    if compiled is None:
        return _user_by_orm(user_id)
    with connection.cursor() as cursor:
        cursor.execute(compiled.sql, [_pk_param(alias, user_id)])
        found = cursor.fetchone()
    if found is None:
        return None
    row = list(found)
    for i, column in compiled.converted:
        for convert in _converters(column, connection):
            row[i] = convert(row[i], column, connection)
    user = get_user_model().from_db(alias, compiled.user_attnames, row[compiled.user_columns])
    # As Django's RelatedPopulator does for select_related (a LEFT JOIN: NULLs for no account).
    values = row[compiled.account_columns]
    account = None
    if values[compiled.account_pk] is not None:
        account = compiled.account_model.from_db(alias, compiled.account_attnames, values)
    compiled.set_account(user, account)
    if account is not None:
        compiled.set_user(account, user)
    return user
