"""Connection tests for the admin: connect, negotiate TLS, read the greeting; say what failed."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass

from django.utils.translation import gettext as _

from .diagnose import connection_error
from .errors import MailError
from .imap import close_quietly, open_connection
from .smtp import connect as smtp_connect
from .types import Endpoint, Security


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    message: str


def probe_imap(endpoint: Endpoint) -> ProbeResult:
    try:
        client = open_connection(endpoint)
    except MailError as exc:
        return ProbeResult(False, exc.user_message)
    try:
        caps = client.capabilities()
    except Exception as exc:
        return ProbeResult(False, connection_error(exc, endpoint).user_message)
    finally:
        close_quietly(client)
    tls = (
        _("TLS verified")
        if endpoint.tls_verify and endpoint.security != Security.NONE
        else (_("TLS NOT verified") if endpoint.security != Security.NONE else _("no encryption"))
    )
    return ProbeResult(
        True,
        _("connected to %(where)s (%(tls)s); %(count)d capabilities")
        % {"where": endpoint.label, "tls": tls, "count": len(caps)},
    )


def probe_smtp(endpoint: Endpoint) -> ProbeResult:
    try:
        smtp = smtp_connect(endpoint)
    except MailError as exc:
        return ProbeResult(False, exc.user_message)
    except (OSError, ssl.SSLError, smtplib.SMTPException) as exc:
        return ProbeResult(False, connection_error(exc, endpoint).user_message)
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()
    return ProbeResult(True, _("connected to %(where)s") % {"where": endpoint.label})
