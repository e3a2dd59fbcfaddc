"""Forwarding addresses: proved before any filter may forward to them, and a notice when one does.

The proof is the one "Send mail as" uses (``sendas.tokens``: a link token and a
9-digit code, kept only as keyed hashes, five tries at the code): a message
goes to the address, and whoever reads it confirms. The link needs no sign-in
(the address may be someone else's: their consent is the point) and confirms
only when its page's button is pressed, so a mail scanner opening links
confirms nothing; the code is typed by the user in settings.

Adding an address also asks for the mailbox password: a stolen session cookie
alone cannot add the thief's address. And whenever a saved script forwards to
a new address, a notice is put in the user's Inbox (``notice_message``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.translation import gettext as _

from webmail.compose.build import Draft, build_message, without_bcc
from webmail.mailaccess.session import UserMailbox
from webmail.sendas import proof, tokens

from .models import ForwardAddress

LinkFor = Callable[[str], str]  # token -> absolute URL of the confirmation page


Confirmed = proof.Outcome


def address_add(*, user: User, email: str) -> ForwardAddress:
    address, _created = ForwardAddress.objects.get_or_create(user=user, email=email.strip().lower())
    return address


def _confirmation_draft(*, own_email: str, target: str, link: str, code: str) -> Draft:
    text = _(
        "Someone, probably the owner of %(account)s, asked to forward mail from that webmail "
        "account to %(address)s.\n\n"
        "To allow it, open this link and press “Confirm”:\n\n%(link)s\n\n"
        "or give this confirmation code to the owner of %(account)s:\n\n%(code)s\n\n"
        "If you do not want it, ignore this message: no mail will be forwarded to you."
    ) % {"address": target, "account": own_email, "link": link, "code": code}
    return Draft(
        sender=own_email,
        to=target,
        subject=_("Confirm forwarding from %(account)s") % {"account": own_email},
        text=text,
        extra_headers={"Auto-Submitted": "auto-generated"},  # RFC 3834: never auto-answered
    )


def proof_send(*, address: ForwardAddress, mailbox: UserMailbox, link_for: LinkFor) -> None:
    """Mail a fresh link and code to the address through our own submission server."""
    challenge = proof.start(ForwardAddress, address.pk)
    proof.mail(
        user_id=address.user_id,
        mailbox=mailbox,
        draft_for=lambda own_email: _confirmation_draft(
            own_email=own_email, target=address.email, link=link_for(challenge.token), code=challenge.code
        ),
    )


def may_resend(address: ForwardAddress) -> bool:
    return proof.may_resend(address.verification_sent_at)


def by_token(token: str) -> ForwardAddress | None:
    """The address waiting for this link's confirmation, if the link is still good."""
    if not token or len(token) > 100:
        return None
    address = ForwardAddress.objects.filter(verification_token_hash=tokens.digest(token)).first()
    if address is None or proof.expired(address.verification_expires_at):
        return None
    return address


def confirm_token(*, token: str) -> ForwardAddress | None:
    address = by_token(token)
    if address is not None:
        proof.mark_proved(ForwardAddress, address.pk)
    return address


def confirm_code(*, address: ForwardAddress, code: str) -> Confirmed:
    if address.verified:
        return Confirmed.YES
    return proof.check_code(ForwardAddress, address.pk, code)


def notice_message(*, own_email: str, targets: list[str], when: datetime, client_ip: str) -> bytes:
    """The notice put in the Inbox when a saved script forwards to a new address."""
    text = _(
        "A filter of your account %(account)s now forwards mail to: %(addresses)s\n\n"
        "It was saved on %(when)s from the address %(ip)s.\n\n"
        "If this was not you, change your password at once, then remove the filter and the "
        "forwarding address in Settings → Filters."
    ) % {
        "account": own_email,
        "addresses": ", ".join(targets),
        "when": when.strftime("%Y-%m-%d %H:%M %Z"),
        "ip": client_ip or _("unknown"),
    }
    draft = Draft(
        sender=own_email,
        to=own_email,
        subject=_("Your mail is now forwarded to %(addresses)s") % {"addresses": ", ".join(targets)},
        text=text,
        extra_headers={"Auto-Submitted": "auto-generated"},
    )
    return without_bcc(build_message(draft, message_id_domain=own_email.rpartition("@")[2]))


def notify_forwarding(*, mailbox: UserMailbox, targets: set[str]) -> None:
    """APPEND the notice to the Inbox (not delivered: no filter of the script can hide it)."""
    data = notice_message(
        own_email=mailbox.username, targets=sorted(targets), when=timezone.now(), client_ip=mailbox.client_ip
    )
    with mailbox.session() as mail:
        mail.append("INBOX", data)
