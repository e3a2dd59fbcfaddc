"""Security baseline, checked against the running app (not just settings values)."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from unittest.mock import patch

import pytest
from django.core.signals import got_request_exception
from django.http import HttpRequest
from django.test import Client
from django.views.debug import ExceptionReporter

from accounts.backends import ImapBackend
from tests.conftest import MailUser

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
ROOT = Path(__file__).resolve().parent.parent.parent


def test_app_pages_carry_strict_headers(client: Client, imap_settings: object, mail_user: MailUser) -> None:
    client.post("/login/", {"email": mail_user.email, "password": mail_user.password})
    for url in ("/login/", "/mail/"):
        response = client.get(url)
        csp = response["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp
        assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response["X-Frame-Options"] == "DENY"
        # same-origin: nothing leaks to other sites, and our own POSTs keep their
        # Origin header (no-referrer would send "Origin: null" and break CSRF).
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Content-Type-Options"] == "nosniff"


def test_session_cookie_flags(client: Client, imap_settings: object, mail_user: MailUser) -> None:
    response = client.post("/login/", {"email": mail_user.email, "password": mail_user.password})
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert not cookie["secure"]  # plain HTTP in tests; see the HTTPS test below


def test_https_mode_sets_secure_cookies_and_hsts(
    client: Client, imap_settings: object, mail_user: MailUser, settings: object
) -> None:
    settings.SESSION_COOKIE_SECURE = True  # what WEBMAIL_HTTPS=true sets
    settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.post("/login/", {"email": mail_user.email, "password": mail_user.password}, secure=True)
    assert response.cookies["sessionid"]["secure"]
    page = client.get("/mail/", secure=True)
    assert page["Strict-Transport-Security"].startswith("max-age=31536000")


def test_session_expires_after_max_age(
    client: Client, imap_settings: object, mail_user: MailUser, settings: object
) -> None:
    client.post("/login/", {"email": mail_user.email, "password": mail_user.password})
    assert client.get("/mail/").status_code == 200
    session = client.session
    session["mail_login_at"] = int(time.time()) - 10
    session.save()
    settings.WEBMAIL_SESSION_MAX_AGE = 5
    response = client.get("/mail/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert "_auth_user_id" not in client.session


def test_session_expires_after_idle_period(
    client: Client, imap_settings: object, mail_user: MailUser, settings: object
) -> None:
    settings.SESSION_COOKIE_AGE = 1  # type: ignore[attr-defined]
    response = client.post("/login/", {"email": mail_user.email, "password": mail_user.password})
    assert response.cookies["sessionid"]["max-age"] == 1
    assert client.get("/mail/").status_code == 200  # activity slides the expiry...
    time.sleep(2.2)
    # ...and after the idle period the server-side session is gone, cookie or not.
    client.cookies["sessionid"] = response.cookies["sessionid"].value
    response = client.get("/mail/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_non_ascii_password_is_a_clear_refusal_not_a_500(
    client: Client, imap_settings: object, dovecot: object, make_user: object
) -> None:
    user = make_user("unicode")  # type: ignore[operator]
    dovecot.add_user(user.email, "pässwörd-ü")  # type: ignore[attr-defined]
    assert client.post("/login/", {"email": user.email, "password": "pässwörd-ü"}).status_code == 302
    client.post("/logout/")
    wrong = client.post("/login/", {"email": user.email, "password": "pässwörd-x"})
    assert wrong.status_code == 200 and b"Wrong email address or password." in wrong.content


def test_lockout_message_does_not_reveal_account_existence(imap_settings: object, settings: object) -> None:
    bodies = []
    for address in ("nobody-here@example.test", "nobody-else@example.test"):
        c = Client(REMOTE_ADDR=f"192.0.2.{len(bodies) + 10}")
        for _ in range(settings.AXES_FAILURE_LIMIT + 1):  # type: ignore[attr-defined]
            response = c.post("/login/", {"email": address, "password": "x"})
        body = response.content.decode().replace(address, "")
        body = re.sub(r'"X-CSRFToken": "[^"]+"', "", body)
        bodies.append(re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body))
    assert bodies[0] == bodies[1]


def test_get_never_logs_out_or_changes_state(
    client: Client, imap_settings: object, mail_user: MailUser
) -> None:
    client.post("/login/", {"email": mail_user.email, "password": mail_user.password})
    assert client.get("/logout/").status_code == 405
    assert client.get("/mail/").status_code == 200


def test_csrf_is_enforced(imap_settings: object, mail_user: MailUser) -> None:
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/login/", {"email": mail_user.email, "password": mail_user.password})
    assert response.status_code == 403


def test_csrf_covers_htmx_requests(dovecot: object, imap_settings: object, mail_user: MailUser) -> None:
    from tests.support.mail import append_all, make_message

    append_all(
        dovecot.imap_port,
        mail_user.email,
        mail_user.password,
        "INBOX",  # type: ignore[attr-defined]
        [(make_message(subject="csrf"), [b"\\Seen"])],
    )
    strict = Client(enforce_csrf_checks=True)
    page = strict.get("/login/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert (
        strict.post(
            "/login/",
            {"email": mail_user.email, "password": mail_user.password, "csrfmiddlewaretoken": token},
        ).status_code
        == 302
    )
    data = {"folder": "INBOX", "uid": "1", "seen": "0"}
    refused = strict.post("/mail/message/seen/", data, HTTP_HX_REQUEST="true")
    assert refused.status_code == 403
    inbox = strict.get("/mail/").content.decode()
    header_token = re.search(r'"X-CSRFToken": "([^"]+)"', inbox).group(1)
    accepted = strict.post("/mail/message/seen/", data, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=header_token)
    assert accepted.status_code == 204


def test_no_password_in_logs(
    client: Client,
    imap_settings: object,
    mail_user: MailUser,
    settings: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from webmail.devstack.ports import free_port

    caplog.set_level(logging.DEBUG)
    client.post("/login/", {"email": mail_user.email, "password": "wrong-" + mail_user.password})
    client.post("/login/", {"email": mail_user.email, "password": mail_user.password})
    client.get("/mail/")
    client.get("/mail/?folder=Nope")
    settings.WEBMAIL_IMAP_PORT = free_port()
    from webmail.mailaccess.session import get_pool

    get_pool().close_all()
    client.get("/mail/")
    # An unexpected crash during sign-in, after the password was used: Django logs the
    # traceback (exc_info), which must not carry the password either.
    settings.WEBMAIL_IMAP_PORT = imap_settings.imap_port  # type: ignore[attr-defined]
    crashing = Client(raise_request_exception=False)
    reports: list[str] = []

    def report(sender: object, request: HttpRequest, **kwargs: object) -> None:
        # What an admin e-mail or an error tracker would receive: Django's own reports,
        # with frame variables and POST data.
        reporter = ExceptionReporter(request, *sys.exc_info())
        reports.extend([reporter.get_traceback_html(), reporter.get_traceback_text()])

    got_request_exception.connect(report)
    try:
        with patch.object(ImapBackend, "_user_for", side_effect=RuntimeError("database went away")):
            response = crashing.post("/login/", {"email": mail_user.email, "password": mail_user.password})
    finally:
        got_request_exception.disconnect(report)
    assert response.status_code == 500
    assert reports and all("database went away" in r for r in reports)
    assert not [r for r in reports if mail_user.password in r], "the error report shows the password"
    formatter = logging.Formatter("%(levelname)s %(name)s %(message)s %(args)s")
    text = "\n".join(formatter.format(r) for r in caplog.records)
    assert text  # the error paths did log...
    assert any(r.exc_info for r in caplog.records) and "Traceback" in text  # ...tracebacks too
    assert "database went away" in text
    assert mail_user.password not in text


def _run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DEBUG", "WEBMAIL_", "SECRET_KEY"))}
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_refuses_to_start_without_real_keys() -> None:
    result = _run_manage("check", env={"DEBUG": "0", "WEBMAIL_ENV_FILE": "/nonexistent"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def _production_env() -> dict[str, str]:
    from cryptography.fernet import Fernet

    return {
        "DEBUG": "0",
        "WEBMAIL_ENV_FILE": "/nonexistent",
        "SECRET_KEY": "x" * 20 + Fernet.generate_key().decode(),
        "WEBMAIL_CREDENTIALS_KEY": Fernet.generate_key().decode(),
        "WEBMAIL_HTTPS": "true",
        "ALLOWED_HOSTS": "mail.example.org",
        "WEBMAIL_SITE_URL": "https://mail.example.org",
    }


def test_check_deploy_is_clean_with_production_settings() -> None:
    result = _run_manage("check", "--deploy", "--fail-level", "WARNING", env=_production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_refuses_to_start_in_production_without_the_site_address() -> None:
    """Links we mail must not be built from the request's Host header: production names its address."""
    env = {k: v for k, v in _production_env().items() if k != "WEBMAIL_SITE_URL"}
    result = _run_manage("check", env=env)
    assert result.returncode != 0
    assert "WEBMAIL_SITE_URL must be set" in result.stderr


@pytest.mark.parametrize(
    "value",
    ["mail.example.org", "http://mail.example.org", "https://mail.example.org/mail/", "javascript:alert(1)"],
    ids=["no scheme", "http under HTTPS", "a path", "not http"],
)
def test_a_site_address_that_cannot_be_linked_to_is_refused_at_start_up(value: str) -> None:
    result = _run_manage("check", env={**_production_env(), "WEBMAIL_SITE_URL": value})
    assert result.returncode != 0
    assert "webmail.E002" in result.stderr + result.stdout
