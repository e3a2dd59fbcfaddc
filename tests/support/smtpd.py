"""A real SMTP submission server for tests: aiosmtpd with STARTTLS and AUTH."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from webmail.devstack.ports import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: str | None


@dataclass
class Recorder:
    """Keeps every accepted message; refuses recipients at ``refuse_domain``, senders listed."""

    messages: list[Received] = field(default_factory=list)
    refuse_domain: str = "refused.test"
    refuse_senders: set[str] = field(default_factory=set)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if address.lower() in self.refuse_senders:
            return "553 5.7.1 Sender address not owned by this user"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@" + self.refuse_domain):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        login = session.auth_data.login.decode() if session.auth_data else None
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, login))
        return "250 Message accepted"


class SubmissionServer:
    def __init__(self, cert: Path, key: Path, users: dict[str, str]) -> None:
        self.users = users
        self.recorder = Recorder()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(cert), str(key))
        self.port = free_port()
        self.controller = Controller(
            self.recorder,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=context,
            require_starttls=True,
            authenticator=self._authenticate,
            auth_required=True,
        )

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        # handled=False: aiosmtpd then answers 535 itself (the default leaves the client waiting).
        if isinstance(auth_data, LoginPassword):
            user, password = auth_data.login.decode(), auth_data.password.decode()
            if self.users.get(user) == password:
                return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
