"""The app shell the service worker keeps for offline starts: our static files, never a page.

Keep ``SHELL`` in step with the sheets and scripts ``templates/base.html`` loads. The
worker's version is a digest of these files' contents, so a deploy that changes one
installs a new worker, which replaces the cache.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.templatetags.static import static

SHELL = (
    "shared/base.css",
    "mailbox/mailbox.css",
    "reading/reading.css",
    "compose/compose.css",
    "preferences/settings.css",
    "webpush/webpush.css",
    "vendor/htmx/htmx.min.js",
    "shared/app.js",
    "mailbox/mail-actions.js",
    "reading/reading.js",
    "compose/compose.js",
    "webpush/webpush.js",
    "vendor/lucide/sprite.svg",
    "icons/favicon.svg",
    "icons/app-192.png",
    "icons/app-512.png",
)


def urls() -> list[str]:
    return [static(name) for name in SHELL]


def _read(name: str) -> bytes:
    found = finders.find(name)
    path = found if isinstance(found, str) else None
    if path is None and staticfiles_storage.exists(name):
        path = staticfiles_storage.path(name)
    if path is None:
        return b""
    with open(path, "rb") as fh:
        return fh.read()


@lru_cache(maxsize=1)
def version() -> str:
    digest = hashlib.sha256()
    for name in SHELL:
        digest.update(name.encode())
        digest.update(_read(name))
    return digest.hexdigest()[:16]
