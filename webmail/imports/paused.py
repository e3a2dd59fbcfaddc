"""The user's imported accounts that wait for a reconnect (their OAuth grant was withdrawn).

Asked on every page, for the app bar's notice, and nearly always empty. Building and
compiling the queryset cost some 0.5 ms a page, running it a few µs: the ORM compiles it
once per database, each page runs that SQL with its own user. Should a Django release
compile it otherwise, the ORM's own query runs (accounts/precompiled.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from django.db import connections, router

from accounts.precompiled import compiled_or_none

from .models import ExternalAccount

if TYPE_CHECKING:
    from django.db.models.query import _QuerySet

SHOWN = 3  # the notice names at most this many, in the model's order (by address)
_PROBE_USER = 0  # stands for the user's id while compiling


@dataclass(frozen=True)
class PausedAccount:
    pk: int
    email: str


def _queryset(alias: str, user_id: int) -> _QuerySet[ExternalAccount, tuple[int, str]]:
    return (
        ExternalAccount.objects.using(alias)
        .filter(user_id=user_id, paused_reason=ExternalAccount.Paused.OAUTH)
        .values_list("pk", "email")[:SHOWN]
    )


def _compile(alias: str) -> tuple[str, tuple[int, int]]:
    """The SQL, and where the user's id and the reason go among its parameters."""
    query = _queryset(alias, _PROBE_USER).query
    sql, params = query.get_compiler(using=alias).as_sql()
    params = list(params)
    if sorted(map(str, params)) != sorted(map(str, [_PROBE_USER, ExternalAccount.Paused.OAUTH.value])):
        raise ValueError(f"unexpected parameters {params!r}")
    user_at = params.index(_PROBE_USER)
    return sql, (user_at, 1 - user_at)


@cache
def _statement(alias: str, vendor: str) -> tuple[str, tuple[int, int]] | None:
    """``vendor`` keys it with ``alias``: a test may point the alias at another database."""
    return compiled_or_none(_compile, alias, "paused-accounts query")


def awaiting_reconnect(user_id: int) -> list[PausedAccount]:
    alias = router.db_for_read(ExternalAccount)
    connection = connections[alias]
    compiled = _statement(alias, connection.vendor)
    if compiled is None:
        rows = list(_queryset(alias, user_id))
    else:
        sql, (user_at, reason_at) = compiled
        params: list[int | str | None] = [None, None]
        params[user_at], params[reason_at] = user_id, ExternalAccount.Paused.OAUTH.value
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    return [PausedAccount(pk, email) for pk, email in rows]
