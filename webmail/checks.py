"""System checks: settings mistakes reported at start-up, not on the first sign-in."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

from webmail.http.clientip import check_trusted_proxies


@register()
def trusted_proxies_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    bad = check_trusted_proxies(list(settings.WEBMAIL_TRUSTED_PROXIES))
    if not bad:
        return []
    return [
        Error(
            f"WEBMAIL_TRUSTED_PROXIES has entries that are not IP addresses or networks: {', '.join(bad)}",
            hint="Write addresses or CIDR networks, e.g. 127.0.0.1,10.0.0.5; "
            "IPv4-mapped IPv6 (::ffff:…) never matches: use the IPv4 form.",
            id="webmail.E001",
        )
    ]


def site_url_problems(value: str, *, https: bool) -> list[str]:
    """What is wrong with WEBMAIL_SITE_URL (empty list: nothing)."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return ["it is not a URL"]
    problems = []
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problems.append("it must start with http:// or https:// and name a host")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        problems.append("it must be only the scheme, host and port (no path, query or user)")
    if https and parts.scheme != "https":
        problems.append("WEBMAIL_HTTPS is on, so it must start with https://")
    return problems


@register(Tags.security)
def site_url_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    problems = site_url_problems(settings.WEBMAIL_SITE_URL, https=settings.WEBMAIL_HTTPS)
    if not problems:
        return []
    return [
        Error(
            f"WEBMAIL_SITE_URL={settings.WEBMAIL_SITE_URL!r} cannot be used for links in mail: "
            + "; ".join(problems),
            hint="Set it to the address people use, e.g. https://mail.example.org",
            id="webmail.E002",
        )
    ]
