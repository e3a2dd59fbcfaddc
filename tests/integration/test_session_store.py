"""The session store that reads with a query compiled once (accounts/sessionstore.py).

It must load exactly what Django's database store saved, and nothing of a session that
expired or never existed: an expired key is dropped, as Django's store drops it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore as DjangoStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.sessionstore import SessionStore

pytestmark = pytest.mark.django_db


def test_loads_what_django_saved() -> None:
    saved = DjangoStore()
    saved["mail_login_at"], saved["name"] = 1700000000, "Zoë"
    saved.create()
    loaded = SessionStore(saved.session_key)
    assert loaded.load() == {"mail_login_at": 1700000000, "name": "Zoë"}
    assert loaded.session_key == saved.session_key


def test_another_key_loads_nothing() -> None:
    saved = DjangoStore()
    saved["secret"] = "mine"
    saved.create()
    other = SessionStore(saved.session_key[:-1] + ("a" if saved.session_key[-1] != "a" else "b"))
    assert other.load() == {}
    assert other.session_key is None  # a new key on save, never the unknown one


def test_an_expired_session_loads_nothing() -> None:
    saved = SessionStore()
    saved["secret"] = "mine"
    saved.create()
    past = timezone.now() - timedelta(seconds=1)
    Session.objects.filter(session_key=saved.session_key).update(expire_date=past)
    stale = SessionStore(saved.session_key)
    assert stale.load() == {}
    assert stale.session_key is None
    assert "secret" not in stale


def test_save_and_reload_through_the_request_cycle() -> None:
    store = SessionStore()
    store["a"] = 1
    store.save()
    again = SessionStore(store.session_key)
    again["b"] = 2
    again.save()
    assert SessionStore(store.session_key).load() == {"a": 1, "b": 2}


def test_a_django_that_compiles_the_query_otherwise_falls_back_to_its_own_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from accounts import sessionstore

    def changed_shape(alias: str) -> str:
        raise RuntimeError("unexpected parameters in the compiled session query")

    django_store = DjangoStore()
    django_store["user"] = "kept"
    django_store.create()
    sessionstore._load_sql.cache_clear()
    monkeypatch.setattr(sessionstore, "_compile_load", changed_shape)
    try:
        assert SessionStore(django_store.session_key).load() == {"user": "kept"}
        assert SessionStore("x" * 32).load() == {}
    finally:
        sessionstore._load_sql.cache_clear()
