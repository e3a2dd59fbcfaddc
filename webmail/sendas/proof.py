"""Proving that someone reads an address: one flow for send-as identities and forwarding targets.

A message with a link and a code (``tokens``) goes to the address through our own
submission server; the row keeps only keyed hashes, an expiry, when it was sent and
how many codes were tried. A model taking part has the fields ``verified_at``,
``verification_token_hash``, ``verification_code_hash``, ``verification_expires_at``,
``verification_sent_at`` and ``verification_attempts``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import Any

from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import MailAccount
from accounts.servers import resolve
from webmail.compose.build import Draft, InvalidMessage, build_message, recipients, without_bcc
from webmail.mailaccess import smtp
from webmail.mailaccess.errors import MailError
from webmail.mailaccess.session import UserMailbox

from . import tokens

RESEND_INTERVAL_SECONDS = 60


class Outcome(Enum):
    YES = "yes"
    WRONG = "wrong"
    EXPIRED = "expired"  # or too many wrong codes: a new message is needed


def start(model: type[models.Model], pk: int) -> tokens.Challenge:
    """A fresh link and code for the row; earlier ones stop working."""
    challenge = tokens.new_challenge(timezone.now())
    model._default_manager.filter(pk=pk).update(
        verification_token_hash=challenge.token_hash,
        verification_code_hash=challenge.code_hash,
        verification_expires_at=challenge.expires_at,
        verification_sent_at=timezone.now(),
        verification_attempts=0,
    )
    return challenge


def mail(*, user_id: int, mailbox: UserMailbox, draft_for: Callable[[str], Draft]) -> None:
    """Send the draft made for the user's own address, through our own submission server.

    Raises a MailError in plain words when it cannot be built or sent.
    """
    account = MailAccount.objects.select_related("server").get(user_id=user_id)
    try:
        msg = build_message(draft_for(account.email), message_id_domain=account.email.rpartition("@")[2])
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


def may_resend(sent_at: datetime | None) -> bool:
    return sent_at is None or (timezone.now() - sent_at).total_seconds() >= RESEND_INTERVAL_SECONDS


def expired(expires_at: datetime | None) -> bool:
    return expires_at is None or expires_at < timezone.now()


def mark_proved(model: type[models.Model], pk: int) -> None:
    model._default_manager.filter(pk=pk).update(
        verified_at=timezone.now(),
        verification_token_hash="",
        verification_code_hash="",
        verification_expires_at=None,
        verification_attempts=0,
    )


def check_code(model: type[models.Model], pk: int, code: str) -> Outcome:
    """A typed code; proves the row when right. Five tries per message, counted under a row lock."""
    with transaction.atomic():
        # Count the try first: parallel guesses cannot exceed the limit.
        model._default_manager.filter(pk=pk).update(verification_attempts=F("verification_attempts") + 1)
        fresh: Any = model._default_manager.select_for_update().get(pk=pk)  # has the proof's fields
        if expired(fresh.verification_expires_at) or fresh.verification_attempts > tokens.MAX_CODE_ATTEMPTS:
            return Outcome.EXPIRED
        if not tokens.matches(fresh.verification_code_hash, tokens.normalise_code(code)):
            return Outcome.WRONG
        mark_proved(model, pk)
    return Outcome.YES
