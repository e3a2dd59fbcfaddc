"""Which push endpoints the server will post to.

The endpoint comes from the browser, so a user could hand us any URL: it must be
https and reach a public address (the push services all are), unless the admin
allowlists the host or network in ``WEBMAIL_WEBPUSH_ALLOWED_HOSTS`` (the tests'
receiver on loopback), the same rule as for POP3 servers (mailaccess/ssrf.py).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

from webmail.mailaccess.errors import MailError
from webmail.mailaccess.ssrf import resolve_checked
from webmail.mailaccess.types import Endpoint


class EndpointRefused(Exception):
    """Not an address we post to (the reason is for the log, never a secret)."""


def check_endpoint(url: str) -> None:
    parts = urlsplit(url)
    host = parts.hostname or ""
    allowed: list[str] = settings.WEBMAIL_WEBPUSH_ALLOWED_HOSTS
    if not host or parts.scheme not in ("https", "http"):
        raise EndpointRefused("not an http(s) URL")
    if parts.scheme != "https" and host not in allowed:
        raise EndpointRefused("not https")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise EndpointRefused("bad port") from exc
    try:
        resolve_checked(Endpoint(host, port), allowed)
    except MailError as exc:
        raise EndpointRefused(exc.detail or "address refused") from exc
