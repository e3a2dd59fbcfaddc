"""The way out for one identity, checked again at send time (a forged POST proves nothing)."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_variables

from accounts.fields import secret_unreadable
from accounts.models import MailAccount, MailServer
from accounts.servers import resolve
from webmail.compose.outbound import Route
from webmail.mailaccess.errors import MailError
from webmail.mailaccess.session import UserMailbox

from .models import Identity


class IdentityUnusable(MailError):
    default_message = gettext_lazy(
        "This address can no longer be used to send: it is not confirmed, or it was disabled."
    )


class IdentityDisabled(IdentityUnusable):
    default_message = gettext_lazy(
        "This address was disabled by the administrator: it cannot be confirmed or used to send."
    )


def send_as_domains(server: MailServer | None) -> list[str]:
    """Other domains our submission server may send as, for users of ``server``."""
    if server is not None and server.enabled:
        return server.send_as_domain_list
    return [d.strip().lower().lstrip("@") for d in settings.WEBMAIL_SEND_AS_DOMAINS if d.strip()]


def own_server_allows(server: MailServer | None, email: str) -> bool:
    domains = send_as_domains(server)
    return "*" in domains or email.rpartition("@")[2].lower() in domains


@sensitive_variables()  # the mailbox and the identity carry passwords
def route_for(identity: Identity | None, *, account: MailAccount, mailbox: UserMailbox) -> Route:
    """How mail from ``identity`` (None: the account's own address) leaves."""
    own_smtp = resolve(account.server).smtp
    if identity is None or identity.is_own_address:
        return Route(own_smtp, mailbox.username, mailbox.password)
    fresh = Identity.objects.usable().filter(pk=identity.pk, user_id=account.user_id).first()
    if fresh is None:
        raise IdentityUnusable()
    if fresh.route == Identity.Route.EXTERNAL:
        if secret_unreadable(fresh.smtp_password) or not fresh.smtp_password:
            # Never sign in with an empty password: a provider may lock the account (or us) out.
            raise IdentityUnusable(
                _(
                    "The password for %(host)s can no longer be read here; type it again in "
                    "the settings (Send mail as)."
                )
                % {"host": fresh.smtp_host}
            )
        return Route(
            fresh.smtp_endpoint(),
            fresh.smtp_username,
            fresh.smtp_password,
            envelope_from=fresh.email,
            allowed_hosts=tuple(settings.WEBMAIL_POP_ALLOWED_HOSTS),
        )
    if not own_server_allows(account.server, fresh.email):
        raise IdentityUnusable(
            _(
                "This address can no longer be used to send: our mail server no longer sends as "
                "%(domain)s addresses; choose the other provider's server in Settings."
            )
            % {"domain": fresh.email.rpartition("@")[2]}
        )
    # Our server submits for the account: it is the envelope sender and the Sender.
    return Route(
        own_smtp,
        mailbox.username,
        mailbox.password,
        envelope_from=account.email,
        sender=account.email,
        reply_to=fresh.email,
    )
