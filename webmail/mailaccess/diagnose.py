"""Turn low-level connection failures into plain words for users and admins."""

from __future__ import annotations

import socket
import ssl

from django.utils.translation import gettext as _

from .errors import MailError, ServerUnavailable, TlsError
from .types import Endpoint


def connection_error(exc: BaseException, endpoint: Endpoint) -> MailError:
    """Classify an exception raised while connecting; says what failed, never a secret."""
    where = endpoint.label
    if isinstance(exc, MailError):
        return exc
    if isinstance(exc, socket.gaierror):
        return ServerUnavailable(
            _("The server name %(host)s could not be found (DNS).") % {"host": endpoint.host},
            detail=str(exc),
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return TlsError(
            _("The TLS certificate of %(where)s is not trusted: %(reason)s")
            % {"where": where, "reason": exc.verify_message or exc.reason},
            detail=str(exc),
        )
    if isinstance(exc, ssl.SSLError):
        return TlsError(
            _("The TLS handshake with %(where)s failed (is the security setting right?).") % {"where": where},
            detail=str(exc),
        )
    if isinstance(exc, ConnectionRefusedError):
        return ServerUnavailable(
            _("The connection to %(where)s was refused (nothing is listening on that port).")
            % {"where": where},
            detail=str(exc),
        )
    if isinstance(exc, TimeoutError | socket.timeout):
        return ServerUnavailable(
            _("The server %(where)s did not answer in time.") % {"where": where},
            detail=str(exc),
        )
    if isinstance(exc, OSError):
        return ServerUnavailable(
            _("The connection to %(where)s failed: %(reason)s")
            % {"where": where, "reason": exc.strerror or exc.__class__.__name__},
            detail=str(exc),
        )
    return ServerUnavailable(detail=f"{exc.__class__.__name__}: {exc}")
