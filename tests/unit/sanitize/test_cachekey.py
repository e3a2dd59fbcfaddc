"""The shared-cache key of a sanitized body: one mailbox, one message, one rendering."""

from __future__ import annotations

import pytest

from webmail.sanitize import cachekey
from webmail.sanitize.cachekey import sanitized_body_key

BASE = {
    "mailbox": "alice@example.test@imap.example.test:143",
    "folder": "INBOX",
    "uidvalidity": 1700000000,
    "uid": 42,
    "section": "1.2",
    "allow_remote": False,
}


def test_the_key_is_stable_and_reveals_nothing() -> None:
    key = sanitized_body_key(**BASE)  # type: ignore[arg-type]
    assert key == sanitized_body_key(**BASE)  # type: ignore[arg-type]
    assert key.startswith("mailhtml:") and len(key) == len("mailhtml:") + 64
    assert "alice" not in key and "INBOX" not in key


@pytest.mark.parametrize(
    ("field", "other"),
    [
        ("mailbox", "bob@example.test@imap.example.test:143"),  # never another mailbox's body
        ("mailbox", "alice@example.test@imap.other.test:143"),  # same login, other server
        ("folder", "Archive"),  # UIDs are per folder
        ("uidvalidity", 1700000001),  # the folder was recreated: UIDs were reused
        ("uid", 43),
        ("section", "2"),
        ("allow_remote", True),  # remote images let in: another rendering
    ],
)
def test_every_part_of_the_identity_changes_the_key(field: str, other: object) -> None:
    assert sanitized_body_key(**BASE) != sanitized_body_key(**{**BASE, field: other})  # type: ignore[arg-type]


def test_fields_cannot_run_into_each_other() -> None:
    # "a" + "b\0c" must not equal "a\0b" + "c": NUL is refused outright.
    with pytest.raises(ValueError):
        sanitized_body_key(**{**BASE, "folder": "INBOX\0" + str(BASE["uidvalidity"])})  # type: ignore[arg-type]


@pytest.mark.parametrize(("field", "value"), [("mailbox", ""), ("uidvalidity", 0), ("uid", 0)])
def test_a_key_without_a_real_identity_is_refused(field: str, value: object) -> None:
    with pytest.raises(ValueError):
        sanitized_body_key(**{**BASE, field: value})  # type: ignore[arg-type]


def test_a_new_sanitizer_never_reads_bodies_cleaned_by_the_old_one(monkeypatch: pytest.MonkeyPatch) -> None:
    before = sanitized_body_key(**BASE)  # type: ignore[arg-type]
    monkeypatch.setattr(cachekey, "SANITIZER_VERSION", "another-policy")
    assert sanitized_body_key(**BASE) != before  # type: ignore[arg-type]


def test_the_version_follows_the_sanitizer_code(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    copy = Path(str(tmp_path))
    for source in cachekey._PACKAGE.glob("*.py"):
        (copy / source.name).write_bytes(source.read_bytes())
    monkeypatch.setattr(cachekey, "_PACKAGE", copy)
    same = cachekey._sanitizer_version()
    assert same == cachekey.SANITIZER_VERSION
    policy = copy / "policy.py"
    policy.write_text(policy.read_text().replace('"blockquote"', '"blockquote", "marquee"', 1))
    assert cachekey._sanitizer_version() != same
