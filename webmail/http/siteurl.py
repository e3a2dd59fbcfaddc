"""Absolute links for mail we send: always the configured site address, never the request's Host.

A Host header is whatever the client sent (within ALLOWED_HOSTS, which a proxy
or a wildcard may widen): a link built from it could point a confirmation
message at an attacker's site. ``WEBMAIL_SITE_URL`` is checked at start-up
(``webmail.checks``) and required in production.
"""

from __future__ import annotations

from django.conf import settings


def absolute_url(path: str) -> str:
    """``path`` (from ``reverse()``) on the configured site address."""
    return settings.WEBMAIL_SITE_URL.rstrip("/") + "/" + path.lstrip("/")
