"""Submitting a message over SMTP (STARTTLS on 587, TLS on 465), errors in plain words.

Our own submission servers are reached by name. A server a user typed in
("Send mail as" through another provider) is reached through ``pinned``: the
address the SSRF check approved, with the certificate verified against the
name the user typed (system CAs plus the admin's bundle).
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_variables

from .diagnose import connection_error
from .errors import AuthenticationFailed, MailError, ServerUnavailable
from .sasl import sasl_plain
from .ssrf import AddressRefused, ResolvedHost, connect_pinned, resolve_checked
from .tls import external_tls_context, tls_context
from .types import Endpoint, Security

# The ports mail submission uses. A server a user typed is reached on these only (unless the
# admin allowlisted it): the connection test must not probe arbitrary services.
SUBMISSION_PORTS = (587, 465, 25, 2525)


class SmtpRejected(MailError):
    default_message = gettext_lazy("The mail server refused the message.")


@dataclass(frozen=True)
class SendResult:
    refused: dict[str, str]  # recipients refused while others were accepted


class _PinnedSMTP(smtplib.SMTP):
    """smtplib.SMTP that opens its socket to a checked address, never re-resolving the name.

    ``_host`` stays the name, so STARTTLS verifies the certificate against it.
    """

    def __init__(self, resolved: ResolvedHost, *, host: str, port: int, timeout: float) -> None:
        self._resolved = resolved
        super().__init__(host=host, port=port, timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return connect_pinned(self._resolved, port, timeout)


class _PinnedSMTPSSL(smtplib.SMTP_SSL):
    def __init__(
        self, resolved: ResolvedHost, *, host: str, port: int, timeout: float, context: ssl.SSLContext
    ) -> None:
        self._resolved = resolved
        super().__init__(host=host, port=port, timeout=timeout, context=context)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = connect_pinned(self._resolved, port, timeout)
        try:
            return self.context.wrap_socket(sock, server_hostname=host)
        except BaseException:
            sock.close()
            raise


def connect(endpoint: Endpoint, *, pinned: ResolvedHost | None = None) -> smtplib.SMTP:
    """Connected, EHLO'd and (per the endpoint) encrypted; not yet authenticated."""
    context = tls_context(endpoint) if pinned is None else external_tls_context(endpoint)
    if endpoint.security == Security.TLS:
        if pinned is None:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                endpoint.host, endpoint.port, timeout=endpoint.timeout, context=context
            )
        else:
            smtp = _PinnedSMTPSSL(
                pinned, host=endpoint.host, port=endpoint.port, timeout=endpoint.timeout, context=context
            )
    elif pinned is None:
        smtp = smtplib.SMTP(endpoint.host, endpoint.port, timeout=endpoint.timeout)
    else:
        smtp = _PinnedSMTP(pinned, host=endpoint.host, port=endpoint.port, timeout=endpoint.timeout)
    smtp.ehlo()
    if endpoint.security == Security.STARTTLS:
        if not smtp.has_extn("starttls"):
            smtp.close()
            raise ServerUnavailable(
                _("%(where)s does not offer STARTTLS; refusing to send the password in clear.")
                % {"where": endpoint.label}
            )
        smtp.starttls(context=context)
        smtp.ehlo()
    return smtp


def resolve_user_host(endpoint: Endpoint, allowed: Iterable[str]) -> ResolvedHost:
    """The SSRF check (same rules as POP3 import) for an SMTP server a user typed.

    Only the submission ports, unless the admin allowlisted the server.
    """
    try:
        resolved = resolve_checked(endpoint, allowed)
    except AddressRefused as exc:
        raise AddressRefused(
            _(
                "%(host)s points to a private or local network address; for safety, mail cannot be "
                "sent through it. Ask your administrator if this server should be allowed."
            )
            % {"host": endpoint.host},
            detail=exc.detail,
        ) from exc
    if endpoint.port not in SUBMISSION_PORTS and not resolved.allowlisted:
        raise AddressRefused(
            _("Mail can only be sent through port 587, 465, 25 or 2525."), detail=f"port {endpoint.port}"
        )
    return resolved


def _open(endpoint: Endpoint, pinned: ResolvedHost | None) -> smtplib.SMTP:
    try:
        return connect(endpoint, pinned=pinned)
    except MailError:
        raise
    except (OSError, ssl.SSLError, smtplib.SMTPException) as exc:
        raise connection_error(exc, endpoint) from exc


def _auth_plain_utf8(smtp: smtplib.SMTP, username: str, password: str) -> None:
    """AUTH PLAIN with UTF-8 credentials (RFC 4616); smtplib's own login encodes them as ASCII."""
    token = sasl_plain(username, password).decode("ascii")
    code, reply = smtp.docmd("AUTH", f"PLAIN {token}")
    if code not in (235, 503):  # 503: already authenticated
        raise smtplib.SMTPAuthenticationError(code, reply)


def _non_ascii_refused(endpoint: Endpoint, detail: str) -> AuthenticationFailed:
    return AuthenticationFailed(
        _(
            "%(where)s cannot take a username or password with accents or other non-ASCII "
            "characters; change the password there, or ask its administrator."
        )
        % {"where": endpoint.label},
        detail=detail,
    )


@sensitive_variables("password")
def _login(smtp: smtplib.SMTP, endpoint: Endpoint, username: str, password: str) -> None:
    try:
        if (username + password).isascii():
            smtp.login(username, password)
        elif not smtp.has_extn("auth"):
            raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
        elif "PLAIN" in smtp.esmtp_features.get("auth", "").upper().split():
            _auth_plain_utf8(smtp, username, password)
        else:
            raise _non_ascii_refused(endpoint, "no AUTH PLAIN for non-ASCII credentials")
    except UnicodeError as exc:  # a mechanism that still wants ASCII: say so, never a 500
        raise _non_ascii_refused(endpoint, type(exc).__name__) from exc
    except smtplib.SMTPAuthenticationError as exc:
        raise AuthenticationFailed(
            _("The outgoing mail server refused your credentials."), detail=f"SMTP {exc.smtp_code}"
        ) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise AuthenticationFailed(
            _(
                "%(where)s does not accept a sign-in here (no AUTH offered); "
                "check the port and the security setting."
            )
            % {"where": endpoint.label},
            detail=str(exc),
        ) from exc


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


@sensitive_variables("password")
def check_login(
    endpoint: Endpoint, *, username: str, password: str, pinned: ResolvedHost | None = None
) -> None:
    """Connect, negotiate TLS, authenticate, QUIT: the test on saving an SMTP server."""
    smtp = _open(endpoint, pinned)
    try:
        if username:
            _login(smtp, endpoint, username, password)
    except (OSError, smtplib.SMTPException) as exc:
        raise connection_error(exc, endpoint) from exc
    finally:
        _close(smtp)


def _reply_text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())[:300]


@sensitive_variables("password")
def send(
    endpoint: Endpoint,
    *,
    username: str,
    password: str,
    envelope_from: str,
    recipients: list[str],
    data: bytes,
    pinned: ResolvedHost | None = None,
) -> SendResult:
    """Submit ``data``; raise a MailError whose ``user_message`` says what went wrong.

    ``pinned``: connect to these checked addresses (a host a user typed), not by name.
    """
    if not recipients:
        raise SmtpRejected(_("Add at least one recipient."))
    smtp = _open(endpoint, pinned)
    try:
        if username:
            _login(smtp, endpoint, username, password)
        refused = smtp.sendmail(envelope_from, recipients, data)
    except smtplib.SMTPRecipientsRefused as exc:
        details = "; ".join(f"{rcpt}: {_reply_text(err[1])}" for rcpt, err in exc.recipients.items())
        raise SmtpRejected(
            _("The mail server refused every recipient (%(details)s).") % {"details": details}
        ) from exc
    except smtplib.SMTPSenderRefused as exc:
        raise SmtpRejected(
            _("The mail server refused the sender address %(sender)s: %(reply)s")
            % {"sender": envelope_from, "reply": _reply_text(exc.smtp_error)}
        ) from exc
    except smtplib.SMTPDataError as exc:
        raise SmtpRejected(
            _("The mail server refused the message: %(reply)s") % {"reply": _reply_text(exc.smtp_error)}
        ) from exc
    except UnicodeError as exc:  # smtplib sends MAIL and RCPT as ASCII
        raise SmtpRejected(
            _(
                "An address has accents or other non-ASCII characters, which this server cannot take: "
                "%(addresses)s"
            )
            % {"addresses": ", ".join(a for a in [envelope_from, *recipients] if not a.isascii())}
        ) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise connection_error(exc, endpoint) from exc
    finally:
        _close(smtp)
    return SendResult(refused={rcpt: _reply_text(err[1]) for rcpt, err in refused.items()})
