"""Which server serves an address: an admin's MailServer row, or the environment's default."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from webmail.mailaccess.types import Endpoint

from .models import MailServer, endpoint


@dataclass(frozen=True)
class ResolvedServer:
    server: MailServer | None  # None: the default from the environment
    imap: Endpoint
    smtp: Endpoint
    sieve: Endpoint | None = None  # ManageSieve (filters, vacation); None: the server has none


def default_server() -> ResolvedServer:
    verify = settings.WEBMAIL_TLS_VERIFY
    return ResolvedServer(
        server=None,
        imap=endpoint(
            settings.WEBMAIL_IMAP_HOST, settings.WEBMAIL_IMAP_PORT, settings.WEBMAIL_IMAP_SECURITY, verify
        ),
        smtp=endpoint(
            settings.WEBMAIL_SMTP_HOST, settings.WEBMAIL_SMTP_PORT, settings.WEBMAIL_SMTP_SECURITY, verify
        ),
        sieve=_default_sieve(verify),
    )


def _default_sieve(verify: bool) -> Endpoint | None:
    if not settings.WEBMAIL_MANAGESIEVE_PORT:
        return None
    host = settings.WEBMAIL_MANAGESIEVE_HOST or settings.WEBMAIL_IMAP_HOST
    return endpoint(host, settings.WEBMAIL_MANAGESIEVE_PORT, settings.WEBMAIL_MANAGESIEVE_SECURITY, verify)


def resolve(server: MailServer | None) -> ResolvedServer:
    if server is None or not server.enabled:
        return default_server()
    return ResolvedServer(server, server.imap_endpoint(), server.smtp_endpoint(), server.sieve_endpoint())


def server_for_address(email: str) -> ResolvedServer:
    domain = email.rsplit("@", 1)[-1].lower()
    for server in MailServer.objects.filter(enabled=True):
        if domain in server.domain_list:
            return resolve(server)
    return default_server()
