"""The client address behind trusted proxies: X-Forwarded-For believed only as far as trusted hops go."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from webmail.http.clientip import client_ip


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


def test_an_ipv6_scope_id_is_never_an_address(settings: pytest.FixtureRequest) -> None:
    # ip_address() accepts any text after "%", line breaks included; it must not reach IMAP's ID.
    settings.WEBMAIL_TRUSTED_PROXIES = ["fd00::/8"]
    assert ip("fd00::2", "fd00::1%x\r\nINJ1 NOOP, fd00::7") == "fd00::7"
    assert "\n" not in ip("fd00::2", "fd00::1%x\r\nA LOGOUT")


def test_the_imap_id_command_only_carries_a_plain_address() -> None:
    from webmail.mailaccess.imap import _is_ip

    assert _is_ip("203.0.113.1") and _is_ip("2001:db8::1")
    assert not _is_ip("fd00::1%x\r\nINJ1 NOOP") and not _is_ip("") and not _is_ip("a\r\nb")


def test_bad_trusted_proxy_entries_are_a_startup_error(settings: pytest.FixtureRequest) -> None:
    from webmail.checks import trusted_proxies_check

    settings.WEBMAIL_TRUSTED_PROXIES = ["10.0.0.0/8", "127.0.0.1"]
    assert trusted_proxies_check() == []
    settings.WEBMAIL_TRUSTED_PROXIES = ["10.0.0.0/8", "proxy.local", "::ffff:10.0.0.0/104"]
    [error] = trusted_proxies_check()
    assert error.id == "webmail.E001" and "proxy.local" in error.msg and "::ffff:10.0.0.0/104" in error.msg
