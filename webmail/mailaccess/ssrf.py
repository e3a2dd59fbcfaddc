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
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .diagnose import connection_error
from .errors import MailError
from .types import Endpoint

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# A name can resolve to dozens of addresses: trying each with a full timeout would make one
# request hang for minutes and turn the connection test into a slow scanner.
MAX_ADDRESSES_TRIED = 4
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class AddressRefused(MailError):
    default_message = gettext_lazy("This server is on a private or local network, which is not allowed here.")


@dataclass(frozen=True)
class ResolvedHost:
    """A host name and the addresses it resolved to that passed the check."""

    host: str
    addresses: tuple[str, ...]
    # Passed because the admin allowlisted the name or every kept address, not for being public.
    allowlisted: bool = False


def _normalise(ip: IPAddress) -> IPAddress:
    # ::ffff:127.0.0.1 is loopback in IPv6 clothes.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses a tunnel or translator reaches through this IPv6 address."""
    out: list[ipaddress.IPv4Address] = []
    if ip.sixtofour is not None:  # 2002::/16
        out.append(ip.sixtofour)
    if ip.teredo is not None:  # 2001::/32: (server, client)
        out.extend(ip.teredo)
    if ip in _NAT64:
        out.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return out


def is_public(ip: IPAddress) -> bool:
    """True for an ordinary Internet address: not loopback, private, link-local, reserved...

    An IPv6 address that tunnels to an IPv4 one (6to4, Teredo, NAT64) is public only if
    that IPv4 address is: 2002:7f00:1:: can reach 127.0.0.1 through a relay.
    """
    ip = _normalise(ip)
    if isinstance(ip, ipaddress.IPv6Address) and ip.sixtofour is not None:
        # 6to4 reaches exactly its IPv4 address through a relay: that address decides. Python
        # releases disagree on 2002::/16 itself (3.11.2 calls it private, 3.11.7 global).
        return is_public(ip.sixtofour)
    if not (ip.is_global and not ip.is_multicast and not ip.is_reserved):
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        return all(is_public(inner) for inner in _embedded_ipv4(ip))
    return True


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
    all_listed = True
    for text in dict.fromkeys(addresses):  # unique, in resolver order
        ip = _normalise(ipaddress.ip_address(text.split("%", 1)[0]))
        listed = any(ip in net for net in networks)
        if host_allowed or listed or is_public(ip):
            kept.append(str(ip))
            all_listed = all_listed and listed
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
    return ResolvedHost(host, tuple(kept), allowlisted=host_allowed or all_listed)


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
    """Open a TCP connection to one of the checked addresses (never re-resolving the name).

    At most ``MAX_ADDRESSES_TRIED`` addresses, all within ``timeout`` in total: each attempt
    gets an equal share of the time left, so a quick refusal passes its share on.
    """
    addresses = resolved.addresses[:MAX_ADDRESSES_TRIED]
    deadline = time.monotonic() + timeout
    last: OSError | None = None
    for index, address in enumerate(addresses):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        # A plain socket, not create_connection(): that would look the address up again.
        family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(remaining / (len(addresses) - index))
            sock.connect((address, port))
        except OSError as exc:
            sock.close()
            last = exc
            continue
        sock.settimeout(timeout)  # the conversation itself gets the full timeout per operation
        return sock
    if last is None:
        last = TimeoutError("timed out")
    raise last
