"""The file cache without compression (webmail/filecache.py) keeps Django's file format.

It only changes how values are written (zlib level 0), so what it writes must read back
through Django's own ``FileBasedCache`` and the other way round, expiry included, and the
files must really be stored uncompressed (else it saves no time).
"""

from __future__ import annotations

import time
from pathlib import Path

from django.core.cache.backends.filebased import FileBasedCache

from webmail.filecache import StoredFileCache

BODY = ("<table><tr><td style='padding:4px'>Weekend offer</td></tr></table>\n" * 5000, 12, False)


def test_values_read_back_through_ours_and_djangos(tmp_path: Path) -> None:
    ours, djangos = StoredFileCache(str(tmp_path), {}), FileBasedCache(str(tmp_path), {})
    ours.set("body", BODY, 60)
    assert ours.get("body") == BODY
    assert djangos.get("body") == BODY
    djangos.set("old", BODY, 60)  # written compressed, by Django's backend (an older deploy)
    assert ours.get("old") == BODY


def test_written_uncompressed(tmp_path: Path) -> None:
    StoredFileCache(str(tmp_path), {}).set("body", BODY, 60)
    FileBasedCache(str(tmp_path / "django"), {}).set("body", BODY, 60)
    (stored,) = tmp_path.glob("*.djcache")
    (compressed,) = (tmp_path / "django").glob("*.djcache")
    assert stored.stat().st_size > len(BODY[0]) > 10 * compressed.stat().st_size


def test_expiry_touch_and_incr_still_work(tmp_path: Path) -> None:
    cache = StoredFileCache(str(tmp_path), {})
    cache.set("short", BODY, 1)
    assert cache.touch("short", 60)
    cache.set("gone", BODY, 1)
    time.sleep(1.1)
    assert cache.get("gone") is None
    assert cache.get("short") == BODY
    cache.set("n", 1, 60)
    assert cache.incr("n") == 2 and cache.get("n") == 2


def test_still_culled_when_full(tmp_path: Path) -> None:
    cache = StoredFileCache(str(tmp_path), {"OPTIONS": {"MAX_ENTRIES": 6, "CULL_FREQUENCY": 2}})
    for n in range(20):
        cache.set(f"k{n}", n, 60)
        assert len(list(tmp_path.glob("*.djcache"))) <= 6
    assert cache.get("k19") == 19
