"""The French catalogue is whole: no entry left empty or fuzzy, and it is compiled."""

from __future__ import annotations

import re
from pathlib import Path

LOCALE = Path(__file__).resolve().parents[2] / "webmail" / "locale" / "fr" / "LC_MESSAGES"


def _entries() -> list[str]:
    return [e for e in LOCALE.joinpath("django.po").read_text("utf-8").split("\n\n") if "msgid" in e]


def _strings(entry: str, key: str) -> list[str]:
    """The concatenated text of each ``key`` (msgid, msgstr, msgstr[0]...) in an entry."""
    out: list[str] = []
    for block in re.findall(rf'^{re.escape(key)}(?:\[\d+\])? ((?:".*"\n?)+)', entry, re.M):
        out.append("".join(re.findall(r'"(.*)"', block)))
    return out


def test_every_entry_is_translated_and_none_is_fuzzy() -> None:
    entries = _entries()[1:]  # the first is the header
    assert len(entries) > 400
    fuzzy = [e for e in entries if re.search(r"^#,.*\bfuzzy\b", e, re.M)]
    empty = [e for e in entries if not e.lstrip().startswith("#~") and not all(_strings(e, "msgstr"))]
    assert not fuzzy, fuzzy[:3]
    assert not empty, empty[:3]


def test_the_compiled_catalogue_is_not_older_than_its_source() -> None:
    po, mo = LOCALE / "django.po", LOCALE / "django.mo"
    assert mo.exists()
    # Compare contents, not file times (a git checkout sets those): the .mo holds every msgstr.
    blob = mo.read_bytes()
    missing = [
        s
        for e in _entries()[1:]
        for s in _strings(e, "msgstr")
        if s and "\\" not in s and s.encode() not in blob
    ]
    assert not missing, missing[:5]
    assert po.exists()
