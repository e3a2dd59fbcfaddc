"""Which server serves an address: an admin's MailServer row, or the environment's default."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from webmail.mailaccess.types import Endpoint, Security

from .models import MailServer


@dataclass(frozen=True)
class ResolvedServer:
    server: MailServer | None  # None: the default from the environment
    imap: Endpoint
    smtp: Endpoint


def default_server() -> ResolvedServer:
    return ResolvedServer(
        server=None,
        imap=Endpoint(
            settings.WEBMAIL_IMAP_HOST,
            settings.WEBMAIL_IMAP_PORT,
            Security(settings.WEBMAIL_IMAP_SECURITY),
            tls_verify=settings.WEBMAIL_TLS_VERIFY,
            ca_file=settings.WEBMAIL_TLS_CA_FILE,
            timeout=settings.WEBMAIL_IMAP_TIMEOUT,
        ),
        smtp=Endpoint(
            settings.WEBMAIL_SMTP_HOST,
            settings.WEBMAIL_SMTP_PORT,
            Security(settings.WEBMAIL_SMTP_SECURITY),
            tls_verify=settings.WEBMAIL_TLS_VERIFY,
            ca_file=settings.WEBMAIL_TLS_CA_FILE,
            timeout=settings.WEBMAIL_IMAP_TIMEOUT,
        ),
    )


def resolve(server: MailServer | None) -> ResolvedServer:
    if server is None or not server.enabled:
        return default_server()
    return ResolvedServer(server, server.imap_endpoint(), server.smtp_endpoint())


def server_for_address(email: str) -> ResolvedServer:
    domain = email.rsplit("@", 1)[-1].lower()
    for server in MailServer.objects.filter(enabled=True):
        if domain in server.domain_list:
            return resolve(server)
    return default_server()
