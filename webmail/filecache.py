"""The shared cache on disk when there is no Redis: Django's file cache, stored uncompressed.

Django's ``FileBasedCache`` zlib-compresses every value at level 6. For a 300 KB sanitized
body that is some 2.3 ms on the reading pane's path, and the body frame decompresses it
again a moment later, to save disk space that a cache capped at ``MAX_ENTRIES`` files does
not lack. Here values are written as zlib *stored* blocks (level 0): the same format, so
Django's own reading code (``get``, ``touch``, ``incr``) reads them unchanged, and files
written by Django's backend (or read by it) stay readable both ways.

Django also lists the directory through ``glob`` before every write, to cull when full:
some 0.3 ms with a few hundred entries. A plain count of its names says first whether
culling can be due; only then does Django's own cull run.
"""

from __future__ import annotations

import os
import pickle
import zlib
from typing import IO, Any

from django.core.cache.backends.filebased import FileBasedCache

STORED = 0  # zlib level 0: framing and checksum only, no compression


class StoredFileCache(FileBasedCache):
    """``FileBasedCache`` whose writes skip compression (reads are Django's own)."""

    def _write_content(self, file: IO[bytes], timeout: Any, value: Any) -> None:
        expiry = self.get_backend_timeout(timeout)
        file.write(pickle.dumps(expiry, self.pickle_protocol))
        file.write(zlib.compress(pickle.dumps(value, self.pickle_protocol), STORED))

    def __init__(self, dir: str, params: dict[str, Any]) -> None:
        super().__init__(dir, params)
        self._directory = os.path.abspath(dir)  # Django's is `_dir`, unknown to django-stubs

    def _cull(self) -> None:
        # Every name counts, temporary files too: culls no later than Django would.
        try:
            if len(os.listdir(self._directory)) < self._max_entries:
                return
        except FileNotFoundError:
            return
        getattr(super(), "_cull")()  # noqa: B009 - Django's private method, unknown to django-stubs
