"""System checks: settings mistakes reported at start-up, not on the first sign-in."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from .clientip import check_trusted_proxies


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
