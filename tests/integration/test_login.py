"""Sign-in is checked by the real IMAP server; errors are clear, never a 500."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client

from accounts.models import MailAccount
from tests.conftest import MailUser

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_first_login_creates_user_and_lands_in_inbox(
    client: Client, imap_settings: object, mail_user: MailUser
) -> None:
    assert not get_user_model().objects.filter(username=mail_user.email).exists()
    response = client.post("/login/", {"email": mail_user.email, "password": mail_user.password}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].startswith("/mail/")
    assert b'id="message-list"' in response.content
    user = get_user_model().objects.get(username=mail_user.email)
    assert not user.has_usable_password()  # only the IMAP server judges passwords
    assert MailAccount.objects.get(user=user).email == mail_user.email


def test_session_never_holds_the_password_in_clear(
    client: Client, imap_settings: object, mail_user: MailUser
) -> None:
    client.post("/login/", {"email": mail_user.email, "password": mail_user.password})
    for session in Session.objects.all():
        assert mail_user.password not in str(session.get_decoded())
        assert mail_user.password not in session.session_data


def test_session_id_changes_at_login(
    client: Client, imap_settings: object, mail_user: MailUser, settings: object
) -> None:
    session = client.session
    session["visited"] = True
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key  # type: ignore[attr-defined]
    before = session.session_key
    assert client.get("/login/").status_code == 200
    client.post("/login/", {"email": mail_user.email, "password": mail_user.password})
    assert client.session.session_key != before


def test_wrong_password_shows_error_on_form(
    client: Client, imap_settings: object, mail_user: MailUser
) -> None:
    response = client.post("/login/", {"email": mail_user.email, "password": "not-the-password"})
    assert response.status_code == 200
    assert b"Wrong email address or password." in response.content
    assert not get_user_model().objects.filter(username=mail_user.email).exists()
    assert "_auth_user_id" not in client.session


def test_line_breaks_in_a_password_are_refused_before_reaching_imap(
    client: Client, imap_settings: object, mail_user: MailUser
) -> None:
    password = mail_user.password + "\r\nZ1 CREATE Injected"
    response = client.post("/login/", {"email": mail_user.email, "password": password})
    assert response.status_code == 200
    assert b"Wrong email address or password." in response.content
    assert "_auth_user_id" not in client.session


def test_unreachable_server_gives_clear_message(
    client: Client, imap_settings: object, settings: object, mail_user: MailUser
) -> None:
    from webmail.devstack.ports import free_port

    settings.WEBMAIL_IMAP_PORT = free_port()  # nothing listens there
    response = client.post("/login/", {"email": mail_user.email, "password": mail_user.password})
    assert response.status_code == 200
    assert b"refused" in response.content
    assert b"Wrong email address" not in response.content


def test_untrusted_certificate_is_refused(
    client: Client, imap_settings: object, settings: object, mail_user: MailUser
) -> None:
    settings.WEBMAIL_TLS_CA_FILE = None  # the test server's cert is self-signed
    response = client.post("/login/", {"email": mail_user.email, "password": mail_user.password})
    assert response.status_code == 200
    assert b"not trusted" in response.content


def test_logout_ends_session(client: Client, imap_settings: object, mail_user: MailUser) -> None:
    client.post("/login/", {"email": mail_user.email, "password": mail_user.password})
    key = client.session.session_key
    assert client.get("/mail/").status_code == 200
    assert client.get("/logout/").status_code == 405  # GET never changes state
    response = client.post("/logout/")
    assert response.status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    response = client.get("/mail/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
