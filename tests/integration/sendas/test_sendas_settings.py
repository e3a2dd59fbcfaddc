"""Adding an address to send as, proving it, and what the settings page and the admin show."""

from __future__ import annotations

import re
from collections.abc import Callable
from email import message_from_bytes, policy
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.conftest import MailUser
from tests.support.smtpd import SubmissionServer
from webmail.imports.models import ExternalAccount
from webmail.sendas.models import Identity

from .conftest import OTHER_LOGIN, OTHER_PASSWORD

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

LINK = re.compile(r"https?://[^\s]+/settings/send-as/\d+/verify/[^\s/]+/")
CODE = re.compile(r"^\s*(\d{9})\s*$", re.M)


def _add(web: Client, other_smtp: SubmissionServer, **fields: Any) -> Any:
    data = {
        "email": "me@work.test",
        "display_name": "Work Me",
        "route": "external",
        "smtp_host": "127.0.0.1",
        "smtp_port": other_smtp.port,
        "smtp_security": "starttls",
        "smtp_username": OTHER_LOGIN,
        "password": OTHER_PASSWORD,
    }
    data.update(fields)
    return web.post("/settings/send-as/add/", data)


def _verification_text(smtp_server: SubmissionServer) -> tuple[Any, str]:
    got = smtp_server.recorder.messages[-1]
    msg = message_from_bytes(got.data, policy=policy.default)
    return got, msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_wrong_password_saves_nothing_and_says_why(
    web: Client, other_smtp: SubmissionServer, smtp_server: SubmissionServer
) -> None:
    before = len(smtp_server.recorder.messages)
    response = _add(web, other_smtp, password="not-it")
    assert response.status_code == 400
    page = response.content.decode()
    assert "refused your credentials" in page and "Nothing was saved" in page and "not-it" not in page
    assert not Identity.objects.filter(email="me@work.test").exists()
    assert len(smtp_server.recorder.messages) == before


def test_private_host_refused_on_save(web: Client, other_smtp: SubmissionServer, settings: Any) -> None:
    settings.WEBMAIL_POP_ALLOWED_HOSTS = []
    response = _add(web, other_smtp)
    assert response.status_code == 400
    assert "private or local network" in response.content.decode()
    assert not Identity.objects.exists()


def test_add_then_prove_by_link_then_send(
    web: Client,
    other_smtp: SubmissionServer,
    smtp_server: SubmissionServer,
    mail_user: MailUser,
    make_user: Callable[..., MailUser],
) -> None:
    response = _add(web, other_smtp)
    assert response.status_code == 302, response.content[:3000]
    identity = Identity.objects.get(email="me@work.test")
    assert identity.verified_at is None and identity.smtp_password == OTHER_PASSWORD
    # The proof goes out through our own server, from the account, to the address.
    got, text = _verification_text(smtp_server)
    assert (got.login, got.mail_from, got.rcpt_tos) == (mail_user.email, mail_user.email, ["me@work.test"])
    assert b"Auto-Submitted: auto-generated" in got.data
    link = LINK.search(text).group(0)  # type: ignore[union-attr]
    assert CODE.search(text)
    assert identity.verification_token_hash not in text  # only a hash is stored, never what is sent

    page = web.get("/settings/identities/").content.decode()
    assert "Waiting for confirmation" in page

    # Unproved: not offered, and refused if forced.
    labels = dict(web.get("/mail/compose/").context["form"].fields["identity"].choices)
    assert identity.pk not in labels

    # Someone else signed in who got hold of the link proves nothing.
    stranger = make_user("stranger")
    other = Client()
    assert other.post("/login/", {"email": stranger.email, "password": stranger.password}).status_code == 302
    assert other.get(link.split("testserver", 1)[1]).status_code == 404
    assert Identity.objects.get(pk=identity.pk).verified_at is None

    bad = web.get(re.sub(r"/verify/[^/]+/", "/verify/forged-token/", link.split("testserver", 1)[1]))
    assert bad.status_code == 400
    response = web.get(link.split("testserver", 1)[1])
    assert response.status_code == 200 and "is confirmed" in response.content.decode()
    assert Identity.objects.get(pk=identity.pk).verified_at is not None

    response = web.post(
        "/mail/compose/",
        {"identity": identity.pk, "to": "bob@example.test", "subject": "s", "text": "t", "action": "send"},
    )
    assert response.status_code == 302
    assert other_smtp.recorder.messages[-1].mail_from == "me@work.test"


def test_prove_by_code_and_resend_limits(
    web: Client, other_smtp: SubmissionServer, smtp_server: SubmissionServer
) -> None:
    assert _add(web, other_smtp).status_code == 302
    identity = Identity.objects.get(email="me@work.test")
    _got, text = _verification_text(smtp_server)
    first_code = CODE.search(text).group(1)  # type: ignore[union-attr]
    # Resending at once is refused (no mail bombing); a minute later a new code replaces the old.
    before = len(smtp_server.recorder.messages)
    response = web.post(f"/settings/send-as/{identity.pk}/resend/", follow=True)
    assert "wait a minute" in response.content.decode()
    assert len(smtp_server.recorder.messages) == before
    Identity.objects.filter(pk=identity.pk).update(verification_sent_at=None)
    web.post(f"/settings/send-as/{identity.pk}/resend/")
    assert len(smtp_server.recorder.messages) == before + 1
    _got, text = _verification_text(smtp_server)
    code = CODE.search(text).group(1)  # type: ignore[union-attr]
    if code != first_code:
        response = web.post(f"/settings/send-as/{identity.pk}/code/", {"code": first_code}, follow=True)
        assert "not right" in response.content.decode()
    typed = f"{code[:3]} {code[3:]}"
    response = web.post(f"/settings/send-as/{identity.pk}/code/", {"code": typed}, follow=True)
    assert "is confirmed" in response.content.decode()
    assert Identity.objects.get(pk=identity.pk).verified


def test_own_server_route_only_for_allowed_domains(
    web: Client, other_smtp: SubmissionServer, smtp_server: SubmissionServer, settings: Any
) -> None:
    response = _add(web, other_smtp, route="own")
    assert response.status_code == 400 and not Identity.objects.exists()
    settings.WEBMAIL_SEND_AS_DOMAINS = ["work.test"]
    assert _add(web, other_smtp, route="own", password="").status_code == 302
    identity = Identity.objects.get(email="me@work.test")
    assert identity.route == "own" and identity.smtp_password == ""


def test_settings_page_links_and_offers_pop_accounts(web: Client, mail_user: MailUser) -> None:
    user = get_user_model().objects.get(username=mail_user.email)
    account = ExternalAccount(user=user, email="me@pop.test", host="pop.pop.test", username="me.pop")
    account.password = "x"
    account.save()
    page = web.get("/settings/identities/").content.decode()
    assert 'href="/settings/accounts/"' in page
    assert f'href="/settings/send-as/add/?from={account.pk}"' in page
    form = web.get(f"/settings/send-as/add/?from={account.pk}").context["form"]
    wanted = {"email": "me@pop.test", "smtp_host": "smtp.pop.test", "smtp_username": "me.pop"}
    assert {k: form.initial[k] for k in wanted} == wanted


def test_edit_keeps_the_password_and_the_address(
    web: Client, other_smtp: SubmissionServer, make_identity: Callable[..., Identity]
) -> None:
    identity = make_identity()
    response = web.post(
        f"/settings/send-as/{identity.pk}/edit/",
        {
            "email": "hijack@evil.test",  # disabled field: ignored
            "display_name": "Renamed",
            "route": "external",
            "smtp_host": "127.0.0.1",
            "smtp_port": other_smtp.port,
            "smtp_security": "starttls",
            "smtp_username": OTHER_LOGIN,
            "password": "",
        },
    )
    assert response.status_code == 302, response.content[:3000]
    identity.refresh_from_db()
    assert (identity.email, identity.display_name) == ("me@work.test", "Renamed")
    assert identity.smtp_password == OTHER_PASSWORD and identity.verified


def test_admin_lists_and_disables_identities(web: Client, make_identity: Callable[..., Identity]) -> None:
    identity = make_identity()
    client = web
    admin = get_user_model().objects.create_superuser("admin", "admin@example.test", "admin-pw")
    client.force_login(admin, backend="accounts.backends.LocalAccountBackend")
    page = client.get("/admin/sendas/identity/").content.decode()
    assert "me@work.test" in page and OTHER_PASSWORD not in page
    detail = client.get(f"/admin/sendas/identity/{identity.pk}/change/").content.decode()
    assert OTHER_PASSWORD not in detail and "smtp_password" not in detail
    response = client.post(
        "/admin/sendas/identity/",
        {"action": "disable_identities", "_selected_action": [identity.pk]},
    )
    assert response.status_code == 302
    identity.refresh_from_db()
    assert not identity.enabled and not Identity.objects.usable().filter(pk=identity.pk).exists()
    assert "send_as_domains" in client.get("/admin/accounts/mailserver/add/").content.decode()


def test_plain_port_to_a_server_that_wants_starttls_is_explained(
    web: Client, other_smtp: SubmissionServer
) -> None:
    page = web.get("/settings/send-as/add/").content.decode()
    assert "data-sendas-insecure" in page  # the warning is on the page, shown when "None" is picked
    response = _add(web, other_smtp, smtp_security="none")
    assert response.status_code == 400
    assert "no AUTH offered" in response.content.decode()
    assert not Identity.objects.exists()
