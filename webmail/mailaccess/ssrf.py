"""Refuse user-supplied hosts that point inside our network, and pin what we checked.

A user can type any host name into the POP3 settings. Without a check, the
worker would connect wherever DNS points: to Redis on loopback, to a metadata
service on a link-local address, to the office LAN. So every address a name
resolves to must be public, unless the admin allowlists the host, the address
or its network (``WEBMAIL_POP_ALLOWED_HOSTS``).

The check and the connection use the same addresses: resolving once and
connecting to the checked address defeats DNS rebinding (a name that answers
"public" to the check and "127.0.0.1" to the connect a moment later).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .diagnose import connection_error
from .errors import MailError
from .types import Endpoint

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(MailError):
    default_message = gettext_lazy("This server is on a private or local network, which is not allowed here.")


@dataclass(frozen=True)
class ResolvedHost:
    """A host name and the addresses it resolved to that passed the check."""

    host: str
    addresses: tuple[str, ...]


def _normalise(ip: IPAddress) -> IPAddress:
    # ::ffff:127.0.0.1 is loopback in IPv6 clothes.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def is_public(ip: IPAddress) -> bool:
    """True for an ordinary Internet address: not loopback, private, link-local, reserved..."""
    ip = _normalise(ip)
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


def _allow_rules(
    allowed: Iterable[str],
) -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    names: set[str] = set()
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for raw in allowed:
        item = raw.strip().lower().rstrip(".")
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            names.add(item)
    return names, networks


def check_addresses(host: str, addresses: Iterable[str], allowed: Iterable[str]) -> ResolvedHost:
    """Keep the permitted addresses of ``host``; refuse when none is left."""
    names, networks = _allow_rules(allowed)
    host_allowed = host.strip().lower().rstrip(".") in names
    kept: list[str] = []
    refused: list[str] = []
    for text in dict.fromkeys(addresses):  # unique, in resolver order
        ip = _normalise(ipaddress.ip_address(text.split("%", 1)[0]))
        if host_allowed or is_public(ip) or any(ip in net for net in networks):
            kept.append(str(ip))
        else:
            refused.append(str(ip))
    if not kept:
        raise AddressRefused(
            _(
                "%(host)s points to a private or local network address (%(address)s); "
                "for safety, mail cannot be fetched from there. "
                "Ask your administrator if this server should be allowed."
            )
            % {"host": host, "address": refused[0] if refused else "?"},
            detail=f"refused {', '.join(refused)}",
        )
    return ResolvedHost(host, tuple(kept))


def resolve_checked(endpoint: Endpoint, allowed: Iterable[str]) -> ResolvedHost:
    """Resolve ``endpoint.host`` once and check every address (DNS errors in plain words)."""
    try:
        infos = socket.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        if isinstance(exc, UnicodeError):
            exc = socket.gaierror(socket.EAI_NONAME, "invalid host name")
        raise connection_error(exc, endpoint) from exc
    return check_addresses(endpoint.host, (str(info[4][0]) for info in infos), allowed)


def connect_pinned(resolved: ResolvedHost, port: int, timeout: float) -> socket.socket:
    """Open a TCP connection to one of the checked addresses (never re-resolving the name)."""
    last: OSError | None = None
    for address in resolved.addresses:
        # A plain socket, not create_connection(): that would look the address up again.
        family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect((address, port))
        except OSError as exc:
            sock.close()
            last = exc
            continue
        return sock
    assert last is not None  # check_addresses never returns an empty list
    raise last
