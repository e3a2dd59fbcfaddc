"""A small, real SMTP server that delivers local mail into Dovecot over LMTP.

It stands in for the submission server in the demo and the tests: the webmail
sends with smtplib as it would to any server, optionally with AUTH PLAIN/LOGIN
checked against Dovecot's IMAP, and the message lands in the recipient's INBOX.
Mail for other domains is refused (550): this relay never sends anything out.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import time
from email.utils import formatdate
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from imapclient import IMAPClient

log = logging.getLogger(__name__)

IO_TIMEOUT = 15.0


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip().rstrip(">").lower()


class LocalRelay:
    """SMTP on ``host:port`` delivering to Dovecot's LMTP at ``lmtp_host:lmtp_port``.

    With ``authenticate=True`` clients must AUTH (PLAIN or LOGIN, allowed without
    TLS because this only listens on loopback); credentials are checked by an
    IMAP login against ``imap_host:imap_port``.
    """

    def __init__(
        self,
        host: str,
        port: int,
        lmtp_host: str,
        lmtp_port: int,
        local_domains: set[str],
        *,
        authenticate: bool = False,
        imap_host: str | None = None,
        imap_port: int | None = None,
    ) -> None:
        if authenticate and imap_port is None:
            raise ValueError("authenticate=True needs imap_port to check credentials")
        self.host = host
        self.port = port
        self.lmtp_host = lmtp_host
        self.lmtp_port = lmtp_port
        self.local_domains = {d.lower() for d in local_domains}
        self.authenticate = authenticate
        self.imap_host = imap_host or lmtp_host
        self.imap_port = imap_port
        self._controller: Controller | None = None

    @classmethod
    def for_instance(
        cls,
        instance: Any,
        port: int,
        local_domains: set[str],
        *,
        authenticate: bool = False,
    ) -> LocalRelay:
        """A relay in front of a :class:`~webmail.devstack.dovecot.DovecotInstance`."""
        return cls(
            instance.host,
            port,
            instance.host,
            instance.lmtp_port,
            local_domains,
            authenticate=authenticate,
            imap_host=instance.host,
            imap_port=instance.imap_port,
        )

    # ------------------------------------------------------------- lifecycle
    def start(self) -> None:
        if self._controller is not None:
            return
        kwargs: dict[str, Any] = {}
        if self.authenticate:
            # AUTH without TLS is deliberate (loopback-only dev server). We
            # enforce "AUTH first" in handle_MAIL rather than with aiosmtpd's
            # auth_required, which warns about exactly that on every connection.
            kwargs.update(authenticator=self._check_credentials, auth_require_tls=False)
        controller = Controller(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            server_hostname="localhost",  # avoids a slow getfqdn() lookup
            enable_SMTPUTF8=True,
            **kwargs,
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> LocalRelay:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- logic
    def is_local(self, address: str) -> bool:
        return _domain(address) in self.local_domains

    def _check_credentials(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        # aiosmtpd calls this synchronously in its loop; one IMAP login on
        # loopback takes milliseconds, which is fine for a dev server.
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        try:
            client = IMAPClient(self.imap_host, self.imap_port, ssl=False, timeout=IO_TIMEOUT)
        except OSError:
            log.exception("relay: IMAP server unreachable for AUTH")
            return AuthResult(success=False, handled=True, message="454 4.7.0 Temporary failure")
        try:
            client.login(login, password)
        except Exception:  # imapclient raises LoginError or IMAP4.error
            return AuthResult(success=False, handled=False)
        finally:
            try:
                client.logout()
            except Exception:  # noqa: S110 - closing a failed session
                pass
        return AuthResult(success=True, auth_data=login)

    def probe_recipient(self, rcpt: str) -> tuple[int, str]:
        """Ask LMTP whether ``rcpt`` exists (MAIL/RCPT then RSET)."""
        with smtplib.LMTP(self.lmtp_host, self.lmtp_port, timeout=IO_TIMEOUT) as lmtp:
            lmtp.ehlo("localhost")
            code, _ = lmtp.mail("<>")
            if code != 250:
                return code, "sender refused by LMTP"
            code, msg = lmtp.rcpt(rcpt)
            lmtp.rset()
            return code, msg.decode("utf-8", "replace")

    def deliver(self, mail_from: str, rcpts: list[str], data: bytes) -> dict[str, str]:
        """Deliver ``data`` to each recipient; return {rcpt: error} for failures.

        One LMTP transaction per recipient: LMTP answers DATA once per recipient
        and smtplib.LMTP.sendmail only reads one reply (see NOTES.md).
        """
        failures: dict[str, str] = {}
        with smtplib.LMTP(self.lmtp_host, self.lmtp_port, timeout=IO_TIMEOUT) as lmtp:
            lmtp.ehlo("localhost")
            options = [o for o in ("BODY=8BITMIME",) if lmtp.has_extn("8bitmime")]
            if lmtp.has_extn("smtputf8") and not mail_from.isascii():
                options.append("SMTPUTF8")
            for rcpt in rcpts:
                try:
                    lmtp.sendmail(mail_from, [rcpt], data, mail_options=options)
                except smtplib.SMTPException as exc:
                    failures[rcpt] = str(exc)
                    try:
                        lmtp.rset()
                    except smtplib.SMTPException:
                        break
        return failures


class _Handler:
    """aiosmtpd hooks; blocking LMTP work runs in the default executor."""

    def __init__(self, relay: LocalRelay) -> None:
        self.relay = relay

    async def handle_MAIL(  # aiosmtpd's hook names
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        if self.relay.authenticate and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(  # aiosmtpd's hook names
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if not self.relay.is_local(address):
            return f"550 5.7.1 <{address}>: relaying denied, not a local domain"
        loop = asyncio.get_running_loop()
        try:
            code, msg = await loop.run_in_executor(None, self.relay.probe_recipient, address)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("relay: LMTP probe for %s failed: %s", address, exc)
            return "451 4.4.1 Local delivery agent unavailable"
        if code >= 500:
            return f"550 5.1.1 <{address}>: no such user"
        if code >= 400:
            return f"{code} 4.2.0 <{address}>: {msg}"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(  # aiosmtpd's hook names
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        user = f" (authenticated as {session.auth_data})" if session.authenticated else ""
        received = (
            f"Received: from {session.host_name or 'unknown'} ([{peer}]){user}\r\n"
            f"\tby localhost (webmail devstack relay) with ESMTP;\r\n"
            f"\t{formatdate(time.time(), localtime=True)}\r\n"
        ).encode()
        loop = asyncio.get_running_loop()
        try:
            failures = await loop.run_in_executor(
                None,
                self.relay.deliver,
                envelope.mail_from or "",
                list(envelope.rcpt_tos),
                received + content,
            )
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("relay: LMTP delivery failed: %s", exc)
            return "451 4.3.0 Local delivery failed, try again later"
        if failures:
            log.warning("relay: delivery failures: %s", failures)
            if len(failures) == len(envelope.rcpt_tos):
                return "554 5.3.0 Delivery failed for all recipients"
        return "250 2.0.0 Message accepted for delivery"
