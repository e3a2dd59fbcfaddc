from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from tests.conftest import MailUser


@pytest.fixture
def signed_in(
    client: Client, imap_settings: object, mail_user: MailUser, db: None
) -> tuple[Client, MailUser]:
    """A Django test client signed in through the real login form."""
    response = client.post("/login/", {"email": mail_user.email, "password": mail_user.password})
    assert response.status_code == 302, response.content[:500]
    return client, mail_user


@pytest.fixture
def login(client: Client, imap_settings: object, db: None) -> Callable[[MailUser], Client]:
    def do(user: MailUser) -> Client:
        response = client.post("/login/", {"email": user.email, "password": user.password})
        assert response.status_code == 302, response.content[:500]
        return client

    return do
