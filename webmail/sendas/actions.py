"""What a user (or an admin) does to a send-as identity. Each owns its transaction and side effects."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts.models import CredentialAttempt, MailAccount
from accounts.servers import resolve
from accounts.throttle import Target, credential_try
from webmail.compose.build import InvalidMessage, build_message, recipients, without_bcc
from webmail.mailaccess import smtp
from webmail.mailaccess.errors import MailError
from webmail.mailaccess.session import UserMailbox

from . import tokens
from .confirmation_mail import verification_draft
from .models import Identity
from .route_choice import IdentityDisabled

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# The settings a user edits (the email only when adding: a new address needs a new proof).
SETTINGS_FIELDS = [
    "display_name",
    "signature",
    "is_default",
    "route",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_username",
]
RESEND_INTERVAL_SECONDS = 60

LinkFor = Callable[[Identity, str], str]  # (identity, token) -> absolute URL


class Verified(Enum):
    YES = "yes"
    WRONG = "wrong"
    EXPIRED = "expired"  # or too many wrong codes: a new message is needed
    DISABLED = "disabled"  # by an admin: it cannot be proved


@sensitive_variables("password")
def connection_test(*, user: User, identity: Identity, password: str, client_ip: str = "") -> None:
    """The other provider's server is allowed (SSRF rules) and accepts this login; else a MailError.

    A sign-in with what the user typed: throttled like our own (``accounts.throttle``).
    """
    endpoint = identity.smtp_endpoint()
    pinned = smtp.resolve_user_host(endpoint, settings.WEBMAIL_POP_ALLOWED_HOSTS)
    target = Target(
        CredentialAttempt.Kind.SMTP, identity.smtp_host, identity.smtp_username, identity.smtp_port
    )
    with credential_try(user=user, target=target, client_ip=client_ip):
        smtp.check_login(endpoint, username=identity.smtp_username, password=password, pinned=pinned)


@sensitive_variables("password", "secret")
def identity_save(*, user: User, identity: Identity, password: str, client_ip: str = "") -> None:
    """Test the other provider's server (when used), then save. Raises a MailError; nothing saved then.

    ``password`` may be empty when editing and the server is unchanged: the stored one is
    kept, and only ever sent to the server, port, TLS mode and login it was saved for.
    """
    adding = identity.pk is None
    if identity.route == Identity.Route.EXTERNAL:
        secret = password or Identity.SECRET_BINDING.stored_secret_for(identity)
        connection_test(user=user, identity=identity, password=secret, client_ip=client_ip)
    else:
        # Our server uses the account's own credentials: keep no stale secret around.
        identity.smtp_password = ""
        password = ""
    with transaction.atomic():
        if password:
            identity.smtp_password = password
        if identity.is_default:
            Identity.objects.filter(user=user).exclude(pk=identity.pk).update(is_default=False)
        if adding:
            identity.user = user
            identity.save()
        else:
            identity.save(update_fields=[*SETTINGS_FIELDS, "smtp_password"])


def verification_send(*, identity: Identity, mailbox: UserMailbox, link_for: LinkFor) -> None:
    """Mail a fresh link and code to the address, through our own submission server.

    Earlier links and codes stop working. Raises a MailError (in plain words) if sending fails.
    """
    if not identity.enabled:
        raise IdentityDisabled()
    account = MailAccount.objects.select_related("server").get(user_id=identity.user_id)
    challenge = tokens.new_challenge(timezone.now())
    Identity.objects.filter(pk=identity.pk).update(
        verification_token_hash=challenge.token_hash,
        verification_code_hash=challenge.code_hash,
        verification_expires_at=challenge.expires_at,
        verification_sent_at=timezone.now(),
        verification_attempts=0,
    )
    draft = verification_draft(
        identity=identity,
        own_email=account.email,
        link=link_for(identity, challenge.token),
        code=challenge.code,
    )
    try:
        msg = build_message(draft, message_id_domain=account.email.rpartition("@")[2])
    except InvalidMessage as exc:  # an address saved before the form's rules: say why, no 500
        raise MailError(str(exc)) from exc
    smtp.send(
        resolve(account.server).smtp,
        username=mailbox.username,
        password=mailbox.password,
        envelope_from=account.email,
        recipients=recipients(msg),
        data=without_bcc(msg),
    )


def may_resend(identity: Identity) -> bool:
    sent = identity.verification_sent_at
    return sent is None or (timezone.now() - sent).total_seconds() >= RESEND_INTERVAL_SECONDS


def _confirm(identity: Identity) -> None:
    Identity.objects.filter(pk=identity.pk).update(
        verified_at=timezone.now(),
        verification_token_hash="",
        verification_code_hash="",
        verification_expires_at=None,
        verification_attempts=0,
    )


def verify_token(*, identity: Identity, token: str) -> Verified:
    """The link was followed (by the owner of the identity: the view checks who is signed in)."""
    if not identity.enabled:
        return Verified.DISABLED
    if identity.verified_at is not None:
        return Verified.YES
    if identity.verification_expires_at is None or identity.verification_expires_at < timezone.now():
        return Verified.EXPIRED
    if not tokens.matches(identity.verification_token_hash, token):
        return Verified.WRONG
    _confirm(identity)
    return Verified.YES


def verify_code(*, identity: Identity, code: str) -> Verified:
    if not identity.enabled:
        return Verified.DISABLED
    if identity.verified_at is not None:
        return Verified.YES
    with transaction.atomic():
        # Count the attempt first and under a row lock: parallel guesses cannot exceed the limit.
        Identity.objects.filter(pk=identity.pk).update(verification_attempts=F("verification_attempts") + 1)
        fresh = Identity.objects.select_for_update().get(pk=identity.pk)
        expired = fresh.verification_expires_at is None or fresh.verification_expires_at < timezone.now()
        if expired or fresh.verification_attempts > tokens.MAX_CODE_ATTEMPTS:
            return Verified.EXPIRED
        if not tokens.matches(fresh.verification_code_hash, tokens.normalise_code(code)):
            return Verified.WRONG
        _confirm(fresh)
    return Verified.YES
