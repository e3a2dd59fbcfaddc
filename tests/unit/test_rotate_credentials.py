from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection

from accounts.models import MailAccount

pytestmark = pytest.mark.django_db


def _raw_token(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT imap_password FROM accounts_mailaccount WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_rotation_command_reencrypts_with_newest_key(settings: object) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.WEBMAIL_CREDENTIALS_KEYS = [old]
    user = get_user_model().objects.create(username="r@example.test")
    account = MailAccount.objects.create(user=user, email="r@example.test", imap_password="imap-secret")
    token_before = _raw_token(account.pk)
    assert "imap-secret" not in token_before
    settings.WEBMAIL_CREDENTIALS_KEYS = [new, old]
    call_command("rotate_credentials")
    settings.WEBMAIL_CREDENTIALS_KEYS = [new]  # the old key is gone now
    assert MailAccount.objects.get(pk=account.pk).imap_password == "imap-secret"
    assert _raw_token(account.pk) != token_before


def test_dumpdata_never_writes_a_secret_in_clear_and_loaddata_restores_it(settings: object) -> None:
    from django.core import serializers

    settings.WEBMAIL_CREDENTIALS_KEYS = [Fernet.generate_key().decode()]
    user = get_user_model().objects.create(username="d@example.test")
    account = MailAccount.objects.create(user=user, email="d@example.test", imap_password="imap-secret")
    dumped = serializers.serialize("json", [account])
    assert "imap-secret" not in dumped and '"imap_password": "fernet:' in dumped
    account.delete()
    for obj in serializers.deserialize("json", dumped):
        obj.save()
    assert MailAccount.objects.get(email="d@example.test").imap_password == "imap-secret"


def test_an_unreadable_secret_survives_a_dump_and_load(settings: object) -> None:
    from django.core import serializers

    from accounts.fields import secret_unreadable

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.WEBMAIL_CREDENTIALS_KEYS = [old]
    user = get_user_model().objects.create(username="u@example.test")
    account = MailAccount.objects.create(user=user, email="u@example.test", imap_password="imap-secret")
    token = _raw_token(account.pk)
    settings.WEBMAIL_CREDENTIALS_KEYS = [new]  # keys changed without rotation
    dumped = serializers.serialize("json", [MailAccount.objects.get(pk=account.pk)])
    MailAccount.objects.filter(pk=account.pk).delete()
    for obj in serializers.deserialize("json", dumped):
        assert secret_unreadable(obj.object.imap_password)
        obj.save()
    assert _raw_token(account.pk) == token  # the old key would still open it
    settings.WEBMAIL_CREDENTIALS_KEYS = [old]
    assert MailAccount.objects.get(pk=account.pk).imap_password == "imap-secret"
