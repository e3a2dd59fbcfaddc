"""User-supplied POP3 hosts: public addresses only, unless allowlisted; connect where we checked."""

from __future__ import annotations

import socket

import pytest

from webmail.mailaccess.errors import ServerUnavailable
from webmail.mailaccess.ssrf import (
    MAX_ADDRESSES_TRIED,
    AddressRefused,
    ResolvedHost,
    check_addresses,
    connect_pinned,
    resolve_checked,
)
from webmail.mailaccess.types import Endpoint


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",  # noqa: S104 - an address to refuse, not to bind
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",  # loopback in IPv6 clothes
        "::ffff:10.0.0.1",
    ],
)
def test_private_loopback_link_local_and_reserved_addresses_are_refused(address: str) -> None:
    with pytest.raises(AddressRefused) as caught:
        check_addresses("pop.evil.test", [address], allowed=[])
    assert "pop.evil.test" in caught.value.user_message
    assert "private or local" in caught.value.user_message


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
def test_public_addresses_pass(address: str) -> None:
    assert check_addresses("pop.example.com", [address], allowed=[]).addresses == (address,)


def test_only_the_public_addresses_of_a_mixed_answer_are_kept() -> None:
    resolved = check_addresses("mixed.test", ["127.0.0.1", "93.184.216.34"], allowed=[])
    assert resolved.addresses == ("93.184.216.34",)


@pytest.mark.parametrize("rule", ["pop.local.test", "POP.LOCAL.TEST.", "127.0.0.1", "127.0.0.0/8"])
def test_admin_allowlist_by_name_address_or_network(rule: str) -> None:
    resolved = check_addresses("pop.local.test", ["127.0.0.1"], allowed=[rule])
    assert resolved.addresses == ("127.0.0.1",)


def test_allowlisting_one_network_does_not_open_others() -> None:
    with pytest.raises(AddressRefused):
        check_addresses("pop.local.test", ["10.0.0.5"], allowed=["127.0.0.0/8"])


def test_localhost_is_refused_by_default() -> None:
    with pytest.raises(AddressRefused):
        resolve_checked(Endpoint("localhost", 110), allowed=[])


def test_dns_failure_in_plain_words() -> None:
    with pytest.raises(ServerUnavailable, match="could not be found"):
        resolve_checked(Endpoint("no-such-host.invalid", 110), allowed=[])


def test_connection_goes_to_the_checked_address_not_a_fresh_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: the name answers differently the second time; we never ask twice."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    answers = iter([[(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]])

    def fake_getaddrinfo(*args: object, **kwargs: object) -> list[tuple[object, ...]]:
        return next(answers)  # a second lookup would raise StopIteration

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    resolved = resolve_checked(Endpoint("rebind.test", port), allowed=["rebind.test"])
    with connect_pinned(resolved, port, timeout=2) as sock:
        assert sock.getpeername() == ("127.0.0.1", port)
    listener.close()


@pytest.mark.parametrize(
    "address",
    [
        "2002:7f00:1::1",  # 6to4 wrapping 127.0.0.1
        "2002:c0a8:101::1",  # 6to4 wrapping 192.168.1.1
        "2002:a9fe:a9fe::1",  # 6to4 wrapping the metadata service 169.254.169.254
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "2001:0:7f00:1:8000:63bf:3fff:fdd2",  # Teredo, server 127.0.0.1
        "64:ff9b::7f00:1",  # NAT64 wrapping 127.0.0.1
    ],
)
def test_ipv6_tunnel_addresses_wrapping_a_private_ipv4_are_refused(address: str) -> None:
    with pytest.raises(AddressRefused):
        check_addresses("tunnel.evil.test", [address], allowed=[])


def test_6to4_of_a_public_ipv4_passes() -> None:
    assert check_addresses("pop.example.com", ["2002:808:808::1"], allowed=[]).addresses == (
        "2002:808:808::1",
    )


class _BlackHoleSocket:
    """Stands in for socket.socket: every connect hangs for its whole timeout (a dropped SYN)."""

    clock = 0.0
    attempts: list[str] = []

    def __init__(self, *args: object) -> None:
        self._timeout = 0.0

    def settimeout(self, value: float) -> None:
        self._timeout = value

    def connect(self, address: tuple[str, int]) -> None:
        type(self).attempts.append(address[0])
        type(self).clock += self._timeout
        raise TimeoutError("timed out")

    def close(self) -> None:
        pass


def test_a_name_with_many_addresses_is_not_a_slow_port_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    """A host resolving to dozens of unreachable addresses: a few attempts, one timeout in all."""
    _BlackHoleSocket.clock, _BlackHoleSocket.attempts = 0.0, []
    monkeypatch.setattr(socket, "socket", _BlackHoleSocket)
    monkeypatch.setattr("webmail.mailaccess.ssrf.time.monotonic", lambda: _BlackHoleSocket.clock)
    resolved = ResolvedHost("many.test", tuple(f"93.184.216.{i}" for i in range(1, 31)))
    with pytest.raises(TimeoutError):
        connect_pinned(resolved, 25, timeout=15)
    assert 1 < len(_BlackHoleSocket.attempts) <= MAX_ADDRESSES_TRIED
    assert _BlackHoleSocket.clock <= 15


def test_the_connected_socket_gets_the_full_timeout_back() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    resolved = ResolvedHost("two.test", ("127.0.0.1", "127.0.0.2"))
    with connect_pinned(resolved, port, timeout=7) as sock:
        assert sock.gettimeout() == 7
    listener.close()


@pytest.mark.parametrize(
    ("host", "addresses", "rules", "expected"),
    [
        ("smtp.local.test", ["127.0.0.1"], ["SMTP.local.test."], True),
        ("localhost", ["127.0.0.1"], ["127.0.0.0/8"], True),
        ("mixed.test", ["127.0.0.1", "93.184.216.34"], ["127.0.0.1"], False),  # one passed as public
        ("smtp.example.com", ["93.184.216.34"], [], False),
    ],
)
def test_resolved_host_says_whether_the_admin_allowlisted_it(
    host: str, addresses: list[str], rules: list[str], expected: bool
) -> None:
    assert check_addresses(host, addresses, allowed=rules).allowlisted is expected
