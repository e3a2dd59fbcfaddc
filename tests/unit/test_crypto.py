from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from accounts import crypto


def test_roundtrip_and_ciphertext_hides_secret() -> None:
    token = crypto.encrypt("s3cret-pässword")
    assert "s3cret" not in token
    assert crypto.decrypt(token) == "s3cret-pässword"


def test_rotation_keeps_old_secrets_readable(settings: object) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.WEBMAIL_CREDENTIALS_KEYS = [old]
    token = crypto.encrypt("pw")
    settings.WEBMAIL_CREDENTIALS_KEYS = [new, old]
    assert crypto.decrypt(token) == "pw"
    rotated = crypto.rotate(token)
    settings.WEBMAIL_CREDENTIALS_KEYS = [new]
    assert crypto.decrypt(rotated) == "pw"
    with pytest.raises(crypto.SecretUnreadable):
        crypto.decrypt(token)


def test_admin_shows_three_states_for_a_stored_secret() -> None:
    from accounts.admin import stored_state
    from accounts.fields import EncryptedSecret, UnreadableSecret

    assert stored_state("") is False
    assert stored_state(EncryptedSecret("s3cret")) is True
    assert stored_state(UnreadableSecret("gAAAA-old-key")) is None  # the admin's "unknown" icon
