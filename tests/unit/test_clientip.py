"""The client address behind trusted proxies: X-Forwarded-For believed only as far as trusted hops go."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from webmail.clientip import client_ip


def ip(peer: str, forwarded: str | None = None) -> str:
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return client_ip(RequestFactory().get("/", REMOTE_ADDR=peer, **extra))


def test_without_trusted_proxies_the_header_is_ignored(settings: pytest.FixtureRequest) -> None:
    settings.WEBMAIL_TRUSTED_PROXIES = []
    assert ip("198.51.100.7", "203.0.113.1") == "198.51.100.7"


def test_untrusted_peer_cannot_spoof(settings: pytest.FixtureRequest) -> None:
    settings.WEBMAIL_TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert ip("198.51.100.7", "203.0.113.1") == "198.51.100.7"


def test_trusted_peer_gives_the_rightmost_untrusted_hop(settings: pytest.FixtureRequest) -> None:
    settings.WEBMAIL_TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]
    assert ip("127.0.0.1", "203.0.113.1") == "203.0.113.1"
    # The client wrote "1.2.3.4" itself; our proxies appended the rest.
    assert ip("127.0.0.1", "1.2.3.4, 203.0.113.1, 10.1.2.3") == "203.0.113.1"


def test_all_hops_trusted_gives_the_leftmost(settings: pytest.FixtureRequest) -> None:
    settings.WEBMAIL_TRUSTED_PROXIES = ["10.0.0.0/8", "127.0.0.1"]
    assert ip("127.0.0.1", "10.0.0.5, 10.0.0.6") == "10.0.0.5"


def test_garbage_hop_stops_the_walk(settings: pytest.FixtureRequest) -> None:
    settings.WEBMAIL_TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]
    assert ip("127.0.0.1", "203.0.113.1, not-an-ip, 10.0.0.9") == "10.0.0.9"
    assert ip("127.0.0.1", "") == "127.0.0.1"
    assert ip("127.0.0.1") == "127.0.0.1"


def test_ports_ipv6_and_mapped_addresses(settings: pytest.FixtureRequest) -> None:
    settings.WEBMAIL_TRUSTED_PROXIES = ["::1", "127.0.0.1"]
    assert ip("::1", "[2001:db8::5]:4711") == "2001:db8::5"
    assert ip("::1", "203.0.113.1:5555") == "203.0.113.1"
    assert ip("::ffff:127.0.0.1", "203.0.113.2") == "203.0.113.2"


def test_axes_uses_the_same_helper(settings: pytest.FixtureRequest) -> None:
    from axes.helpers import get_client_ip_address

    settings.WEBMAIL_TRUSTED_PROXIES = ["127.0.0.1"]
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert get_client_ip_address(request) == "203.0.113.9"
