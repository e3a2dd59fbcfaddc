"""The browser's address, also behind reverse proxies we trust.

Sign-in throttling (django-axes) and Dovecot's login penalty (the ID
``x-originating-ip``) both key on it. ``X-Forwarded-For`` is believed only
when the direct peer is listed in ``WEBMAIL_TRUSTED_PROXIES``, and only as far
as the chain of trusted hops goes: anything left of the first untrusted hop
may have been written by the client itself.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=4)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    # strict=False: "10.0.0.1/8" is accepted as 10.0.0.0/8, a common slip.
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip())


def trusted_networks() -> tuple[Network, ...]:
    return _networks(tuple(settings.WEBMAIL_TRUSTED_PROXIES))


def check_trusted_proxies(entries: list[str]) -> list[str]:
    """Entries of WEBMAIL_TRUSTED_PROXIES that are not addresses or networks (for a system check)."""
    bad = []
    for entry in entries:
        if not entry.strip():
            continue
        try:
            net = ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            bad.append(entry)
            continue
        if isinstance(net, ipaddress.IPv6Network) and net.subnet_of(ipaddress.IPv6Network("::ffff:0:0/96")):
            bad.append(entry)  # peers arrive as plain IPv4: write the IPv4 network instead
    return bad


def _parse(value: str) -> Address | None:
    """An address from a header hop; tolerates a port ("1.2.3.4:80", "[::1]:80"). None if not one."""
    value = value.strip().strip('"')
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else value[1:]
    elif value.count(":") == 1:  # IPv4 with a port; a bare IPv6 has several colons
        value = value.split(":", 1)[0]
    if "%" in value:
        return None  # an IPv6 scope id is free text (even CR/LF) that ip_address() accepts
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    # An IPv4 peer on a dual-stack socket shows up as ::ffff:a.b.c.d.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def client_ip(request: HttpRequest | None) -> str:
    """The client's address as a string ("" when unknown). Also django-axes' AXES_CLIENT_IP_CALLABLE."""
    if request is None:
        return ""
    peer_text = request.META.get("REMOTE_ADDR", "") or ""
    networks = trusted_networks()
    peer = _parse(peer_text)
    if not networks or peer is None or not _trusted(peer, networks):
        return peer_text
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "") or ""
    hops = [h for h in forwarded.split(",") if h.strip()]
    nearest = peer
    # Walk from the right: each hop was appended by the (trusted) proxy to its right.
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            break  # garbage: trust nothing beyond the last proxy we believe
        if not _trusted(address, networks):
            return str(address)
        nearest = address
    return str(nearest)
