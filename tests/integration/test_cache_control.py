"""Pages with mail on them are never stored by the browser: every signed-in response says no-store.

Checked the way a shared computer would leak: a signed-in session fetches full
pages, htmx partials, JSON, the mail body frame, redirects, error pages and the
admin, and every answer must carry ``Cache-Control: private, no-store``.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.conftest import MailUser
from tests.support.mail import append_all, make_message

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _assert_not_stored(response: Any, what: str) -> None:
    directives = {d.strip().split("=")[0] for d in response.get("Cache-Control", "").split(",")}
    assert {"private", "no-store"} <= directives, f"{what}: {response.get('Cache-Control')!r}"
    assert "public" not in directives, what


def test_every_signed_in_answer_says_private_no_store(
    signed_in: tuple[Client, MailUser], dovecot: Any
) -> None:
    web, user = signed_in
    append_all(dovecot.imap_port, user.email, user.password, "INBOX", [(make_message(subject="secret"), [])])
    htmx = {"HTTP_HX_REQUEST": "true"}
    for what, response in [
        ("mailbox page", web.get("/mail/")),
        ("list partial", web.get("/mail/?folder=INBOX", **htmx)),
        ("message pane", web.get("/mail/message/?folder=INBOX&uid=1", **htmx)),
        ("message page", web.get("/mail/message/?folder=INBOX&uid=1")),
        ("mail body frame", web.get("/mail/message/body/?folder=INBOX&uid=1")),
        ("raw source", web.get("/mail/message/raw/?folder=INBOX&uid=1")),
        ("search", web.get("/mail/search/?q=secret")),
        ("poll", web.get("/mail/poll/?folder=INBOX")),
        ("address suggestions (JSON)", web.get("/mail/compose/addresses/?q=a")),
        ("compose", web.get("/mail/compose/")),
        ("settings", web.get("/settings/")),
        ("import status partial", web.get("/settings/accounts/status/", **htmx)),
        (
            "redirect after an action",
            web.post("/mail/message/seen/", {"folder": "INBOX", "uid": "1", "seen": "1"}),
        ),
        ("error page", web.get("/mail/?folder=No-such-folder")),
        ("not found", web.get("/mail/message/?folder=INBOX&uid=999")),
    ]:
        assert response.status_code < 500, what
        _assert_not_stored(response, what)


def test_the_admin_is_not_stored_either(client: Client, django_user_model: Any) -> None:
    root = django_user_model.objects.create_superuser("root", "root@example.test", "admin-pw-1")
    client.force_login(root, backend="accounts.backends.LocalAccountBackend")
    for url in ("/admin/", "/admin/accounts/mailserver/", "/admin/accounts/credentialattempt/"):
        _assert_not_stored(client.get(url), url)


def test_static_files_keep_their_caching(signed_in: tuple[Client, MailUser]) -> None:
    web, _user = signed_in
    response = web.get("/static/shared/app.js")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
    assert "max-age" in response.get("Cache-Control", "")
