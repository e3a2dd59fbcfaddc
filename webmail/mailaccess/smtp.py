"""Submitting a message over SMTP (STARTTLS on 587, TLS on 465), errors in plain words."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .diagnose import connection_error
from .errors import AuthenticationFailed, MailError, ServerUnavailable
from .tls import tls_context
from .types import Endpoint, Security


class SmtpRejected(MailError):
    default_message = gettext_lazy("The mail server refused the message.")


@dataclass(frozen=True)
class SendResult:
    refused: dict[str, str]  # recipients refused while others were accepted


def connect(endpoint: Endpoint) -> smtplib.SMTP:
    """Connected, EHLO'd and (per the endpoint) encrypted; not yet authenticated."""
    if endpoint.security == Security.TLS:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            endpoint.host, endpoint.port, timeout=endpoint.timeout, context=tls_context(endpoint)
        )
    else:
        smtp = smtplib.SMTP(endpoint.host, endpoint.port, timeout=endpoint.timeout)
    smtp.ehlo()
    if endpoint.security == Security.STARTTLS:
        if not smtp.has_extn("starttls"):
            smtp.close()
            raise ServerUnavailable(
                _("%(where)s does not offer STARTTLS; refusing to send the password in clear.")
                % {"where": endpoint.label}
            )
        smtp.starttls(context=tls_context(endpoint))
        smtp.ehlo()
    return smtp


def _reply_text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())[:300]


def send(
    endpoint: Endpoint,
    *,
    username: str,
    password: str,
    envelope_from: str,
    recipients: list[str],
    data: bytes,
) -> SendResult:
    """Submit ``data``; raise a MailError whose ``user_message`` says what went wrong."""
    if not recipients:
        raise SmtpRejected(_("Add at least one recipient."))
    try:
        smtp = connect(endpoint)
    except MailError:
        raise
    except (OSError, ssl.SSLError, smtplib.SMTPException) as exc:
        raise connection_error(exc, endpoint) from exc
    try:
        if username:
            smtp.login(username, password)
        refused = smtp.sendmail(envelope_from, recipients, data)
    except smtplib.SMTPAuthenticationError as exc:
        raise AuthenticationFailed(
            _("The outgoing mail server refused your credentials."), detail=f"SMTP {exc.smtp_code}"
        ) from exc
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
    except (OSError, smtplib.SMTPException) as exc:
        raise connection_error(exc, endpoint) from exc
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return SendResult(refused={rcpt: _reply_text(err[1]) for rcpt, err in refused.items()})
