"""A model field that stores a secret encrypted, and never shows it back."""

from __future__ import annotations

from typing import Any

from django.db import models

from . import crypto


class EncryptedSecret(str):
    """Decrypted value whose repr never prints the secret."""

    def __repr__(self) -> str:
        return "EncryptedSecret('********')"


class UnreadableSecret(str):
    """Stands for a stored secret no configured key decrypts (keys changed without rotation).

    It is the empty string, so code that needs the secret sees "none stored";
    ``secret_unreadable()`` tells the two apart. Saving the row writes the
    original ciphertext back unchanged: restoring the old key makes it readable again.
    """

    ciphertext: str

    def __new__(cls, ciphertext: str) -> UnreadableSecret:
        value = super().__new__(cls, "")
        value.ciphertext = ciphertext
        return value

    def __repr__(self) -> str:
        return "UnreadableSecret()"


class Ciphertext(str):
    """Text that is already encrypted: the field stores it as is (key rotation)."""

    already_encrypted = True


# Serialized values (dumpdata) carry ciphertext, never the secret, under this mark.
SERIALIZED_PREFIX = "fernet:"


def secret_unreadable(value: object) -> bool:
    return isinstance(value, UnreadableSecret)


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python code sees plaintext.

    Keep such fields out of admin forms: the admin offers a separate "set
    password" input instead. Serializers (dumpdata/loaddata) carry the
    ciphertext, marked, never the secret. A value that cannot be decrypted
    loads as an ``UnreadableSecret`` instead of failing the whole query: one
    bad row must not turn its owner's every page into a 500.
    """

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if not value:
            return value
        try:
            return EncryptedSecret(crypto.decrypt(value))
        except crypto.SecretUnreadable:
            return UnreadableSecret(value)

    def get_prep_value(self, value: Any) -> str | None:
        if isinstance(value, UnreadableSecret):
            return value.ciphertext
        if value is None or value == "":
            return value
        if getattr(value, "already_encrypted", False):  # rotate_credentials writes ciphertext
            return str(value)
        return crypto.encrypt(str(value))

    def value_to_string(self, obj: models.Model) -> str:
        """For dumpdata: the ciphertext, marked, so a backup never holds a password in clear."""
        value = self.value_from_object(obj)
        if isinstance(value, UnreadableSecret):  # falsy (""), but its ciphertext must survive
            return SERIALIZED_PREFIX + value.ciphertext
        if not value:
            return ""
        return SERIALIZED_PREFIX + crypto.encrypt(str(value))

    def to_python(self, value: Any) -> Any:
        """For loaddata: a marked value is ciphertext; decrypt it (or keep it, unreadable)."""
        if (
            isinstance(value, str)
            and value.startswith(SERIALIZED_PREFIX)
            and not isinstance(value, (EncryptedSecret, UnreadableSecret))
        ):
            ciphertext = value[len(SERIALIZED_PREFIX) :]
            try:
                return EncryptedSecret(crypto.decrypt(ciphertext))
            except crypto.SecretUnreadable:
                return UnreadableSecret(ciphertext)
        return value
