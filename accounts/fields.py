"""A model field that stores a secret encrypted, and never shows it back."""

from __future__ import annotations

from typing import Any

from django.db import models

from . import crypto


class EncryptedSecret(str):
    """Decrypted value whose repr never prints the secret."""

    def __repr__(self) -> str:
        return "EncryptedSecret('********')"


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python code sees plaintext.

    Keep such fields out of admin forms and serializers: the admin offers a
    separate "set password" input instead.
    """

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if not value:
            return value
        return EncryptedSecret(crypto.decrypt(value))

    def get_prep_value(self, value: Any) -> str | None:
        if value is None or value == "":
            return value
        if getattr(value, "already_encrypted", False):  # rotate_credentials writes ciphertext
            return str(value)
        return crypto.encrypt(str(value))
