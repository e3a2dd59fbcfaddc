"""User-supplied POP3 hosts: public addresses only, unless allowlisted; connect where we checked."""

from __future__ import annotations

import socket

import pytest

from webmail.mailaccess.errors import ServerUnavailable
from webmail.mailaccess.ssrf import AddressRefused, check_addresses, connect_pinned, resolve_checked
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
