"""The test stack's OAuth 2.0 authorization server, one per pytest process (registered by
``tests/conftest.py``): Dovecot's oauth2 passdb asks it about tokens on ``dovecot.oauth_port``,
so the integration and the browser tests must share it, never start a second one there."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from webmail.devstack.dovecot import DovecotInstance
from webmail.devstack.oauthserver import OAuthServer


@pytest.fixture(scope="session")
def oauth_server(dovecot: DovecotInstance) -> Iterator[OAuthServer]:
    server = OAuthServer(port=dovecot.oauth_port).start()
    client_id, secret = dovecot.oauth_introspection_client
    server.add_client(client_id, secret, resource_server=True)
    server.add_client("webmail-test", "webmail-test-secret")
    yield server
    server.stop()
