"""Behind a trusted reverse proxy, throttling and Dovecot see the browser's address, not the proxy's."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client

from webmail.devstack.dovecot import DovecotInstance

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
PROXY = "127.0.0.1"


def via_proxy(client_address: str) -> Client:
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"{client_address}, {PROXY}")


def test_lockout_hits_the_client_behind_the_proxy_not_everyone(
    imap_settings: object, make_user: Any, settings: Any
) -> None:
    settings.WEBMAIL_TRUSTED_PROXIES = [PROXY]
    victim, other = make_user("victim"), make_user("other")
    attacker = via_proxy("198.51.100.20")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attacker.post("/login/", {"email": victim.email, "password": "guess"})
    assert attacker.post("/login/", {"email": victim.email, "password": victim.password}).status_code == 429
    # Same proxy, another browser: not locked out, not even for that account.
    bystander = via_proxy("203.0.113.20")
    assert bystander.post("/login/", {"email": victim.email, "password": victim.password}).status_code == 302
    assert (
        via_proxy("203.0.113.21")
        .post("/login/", {"email": other.email, "password": other.password})
        .status_code
        == 302
    )


def test_forged_header_from_an_untrusted_peer_does_not_dodge_the_lockout(
    imap_settings: object, make_user: Any, settings: Any
) -> None:
    settings.WEBMAIL_TRUSTED_PROXIES = ["10.0.0.0/8"]
    victim, other = make_user("victim"), make_user("other")
    for n in range(settings.AXES_FAILURE_LIMIT):
        forged = Client(REMOTE_ADDR="198.51.100.30", HTTP_X_FORWARDED_FOR=f"192.0.2.{n + 1}")
        forged.post("/login/", {"email": victim.email, "password": "guess"})
    again = Client(REMOTE_ADDR="198.51.100.30", HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert again.post("/login/", {"email": victim.email, "password": victim.password}).status_code == 429
    # The lock is on that account from that peer only.
    assert again.post("/login/", {"email": other.email, "password": other.password}).status_code == 302


def test_dovecot_is_told_the_browser_address(
    imap_settings: DovecotInstance, make_user: Any, settings: Any
) -> None:
    settings.WEBMAIL_TRUSTED_PROXIES = [PROXY]
    user = make_user("rip")
    response = via_proxy("203.0.113.77").post("/login/", {"email": user.email, "password": user.password})
    assert response.status_code == 302
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = [ln for ln in imap_settings.log_path.read_text().splitlines() if f"user=<{user.email}>" in ln]
        if any("Login:" in ln for ln in lines):
            break
        time.sleep(0.1)
    logins = [ln for ln in lines if "Login:" in ln]
    assert logins and all("rip=203.0.113.77" in ln for ln in logins), lines
