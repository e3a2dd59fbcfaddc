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
from enum import Enum

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import MailAccount
from accounts.servers import resolve
from webmail.compose.build import Draft, InvalidMessage, build_message, recipients, without_bcc
from webmail.mailaccess import smtp
from webmail.mailaccess.errors import MailError
from webmail.mailaccess.session import UserMailbox
from webmail.sendas import tokens

from .models import ForwardAddress

RESEND_INTERVAL_SECONDS = 60

LinkFor = Callable[[str], str]  # token -> absolute URL of the confirmation page


class Confirmed(Enum):
    YES = "yes"
    WRONG = "wrong"
    EXPIRED = "expired"  # or too many wrong codes: a new message is needed


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
    account = MailAccount.objects.select_related("server").get(user_id=address.user_id)
    challenge = tokens.new_challenge(timezone.now())
    ForwardAddress.objects.filter(pk=address.pk).update(
        verification_token_hash=challenge.token_hash,
        verification_code_hash=challenge.code_hash,
        verification_expires_at=challenge.expires_at,
        verification_sent_at=timezone.now(),
        verification_attempts=0,
    )
    draft = _confirmation_draft(
        own_email=account.email, target=address.email, link=link_for(challenge.token), code=challenge.code
    )
    try:
        msg = build_message(draft, message_id_domain=account.email.rpartition("@")[2])
    except InvalidMessage as exc:
        raise MailError(str(exc)) from exc
    smtp.send(
        resolve(account.server).smtp,
        username=mailbox.username,
        password=mailbox.password,
        envelope_from=account.email,
        recipients=recipients(msg),
        data=without_bcc(msg),
    )


def may_resend(address: ForwardAddress) -> bool:
    sent = address.verification_sent_at
    return sent is None or (timezone.now() - sent).total_seconds() >= RESEND_INTERVAL_SECONDS


def _confirm(pk: int) -> None:
    ForwardAddress.objects.filter(pk=pk).update(
        verified_at=timezone.now(),
        verification_token_hash="",
        verification_code_hash="",
        verification_expires_at=None,
        verification_attempts=0,
    )


def by_token(token: str) -> ForwardAddress | None:
    """The address waiting for this link's confirmation, if the link is still good."""
    if not token or len(token) > 100:
        return None
    address = ForwardAddress.objects.filter(verification_token_hash=tokens.digest(token)).first()
    if address is None or address.verification_expires_at is None:
        return None
    if address.verification_expires_at < timezone.now():
        return None
    return address


def confirm_token(*, token: str) -> ForwardAddress | None:
    address = by_token(token)
    if address is not None:
        _confirm(address.pk)
    return address


def confirm_code(*, address: ForwardAddress, code: str) -> Confirmed:
    if address.verified:
        return Confirmed.YES
    with transaction.atomic():
        # Count the try first and under a row lock: parallel guesses cannot exceed the limit.
        ForwardAddress.objects.filter(pk=address.pk).update(
            verification_attempts=F("verification_attempts") + 1
        )
        fresh = ForwardAddress.objects.select_for_update().get(pk=address.pk)
        expired = fresh.verification_expires_at is None or fresh.verification_expires_at < timezone.now()
        if expired or fresh.verification_attempts > tokens.MAX_CODE_ATTEMPTS:
            return Confirmed.EXPIRED
        if not tokens.matches(fresh.verification_code_hash, tokens.normalise_code(code)):
            return Confirmed.WRONG
        _confirm(fresh.pk)
    return Confirmed.YES


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
