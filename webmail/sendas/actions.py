"""What a user (or an admin) does to a send-as identity. Each owns its transaction and side effects."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from accounts.models import CredentialAttempt
from accounts.throttle import Target, credential_try
from webmail.mailaccess import smtp
from webmail.mailaccess.session import UserMailbox

from . import proof, tokens
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
    challenge = proof.start(Identity, identity.pk)
    proof.mail(
        user_id=identity.user_id,
        mailbox=mailbox,
        draft_for=lambda own_email: verification_draft(
            identity=identity,
            own_email=own_email,
            link=link_for(identity, challenge.token),
            code=challenge.code,
        ),
    )


def may_resend(identity: Identity) -> bool:
    return proof.may_resend(identity.verification_sent_at)


def verify_token(*, identity: Identity, token: str) -> Verified:
    """The link was followed (by the owner of the identity: the view checks who is signed in)."""
    if not identity.enabled:
        return Verified.DISABLED
    if identity.verified_at is not None:
        return Verified.YES
    if proof.expired(identity.verification_expires_at):
        return Verified.EXPIRED
    if not tokens.matches(identity.verification_token_hash, token):
        return Verified.WRONG
    proof.mark_proved(Identity, identity.pk)
    return Verified.YES


def verify_code(*, identity: Identity, code: str) -> Verified:
    if not identity.enabled:
        return Verified.DISABLED
    if identity.verified_at is not None:
        return Verified.YES
    return Verified(proof.check_code(Identity, identity.pk, code).value)
