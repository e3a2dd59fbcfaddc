"""Sending and saving: SMTP submission, the Sent copy, drafts, the original's flag."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from django.utils import timezone

from webmail.mailaccess.errors import MailError
from webmail.mailaccess.session import UserMailbox
from webmail.mailaccess.smtp import SendResult, resolve_user_host, send
from webmail.mailaccess.types import Endpoint, FolderRole

from .build import Draft, build_message, recipients, without_bcc
from .outbound import Route

logger = logging.getLogger(__name__)

ANSWERED = b"\\Answered"
FORWARDED = b"$Forwarded"


@dataclass(frozen=True)
class Origin:
    """The message being answered or forwarded."""

    folder: str
    uid: int
    flag: bytes  # ANSWERED or FORWARDED


@dataclass(frozen=True)
class Outcome:
    sent: bool
    draft_uid: int | None = None  # where the draft now lives, when kept
    error: str = ""
    refused: dict[str, str] | None = None
    # Sent, but its copy could not be filed in Sent (a full mailbox): why, in words.
    sent_copy_error: str = ""


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "localhost"


def save_draft(mailbox: UserMailbox, draft: Draft, *, replaces: int | None) -> int | None:
    """APPEND to Drafts (\\Draft \\Seen), then remove the copy it replaces."""
    msg = build_message(draft, message_id_domain=_domain(mailbox.username))
    with mailbox.session() as mail:
        folder = mail.role_folder(FolderRole.DRAFTS, "Drafts")
        uid = mail.append(folder, bytes(msg), flags=(b"\\Draft", b"\\Seen"), when=timezone.now())
        if replaces:
            mail.remove(folder, replaces)
    return uid


def _route(smtp: Endpoint | Route | Callable[[], Route], mailbox: UserMailbox) -> Route:
    if isinstance(smtp, Route):
        return smtp
    if isinstance(smtp, Endpoint):
        return Route(smtp, mailbox.username, mailbox.password)
    return smtp()


def send_draft(
    mailbox: UserMailbox,
    smtp: Endpoint | Route | Callable[[], Route],
    draft: Draft,
    *,
    origin: Origin | None = None,
    draft_uid: int | None = None,
) -> Outcome:
    """Send; then file the copy in Sent, flag the original and drop the draft.

    ``smtp``: our submission server (with the mailbox's credentials), a Route
    (another address's server and credentials), or a function that finds the
    Route: it can fail (a From address withdrawn since the page loaded), and
    then, like any failure to send, the message is (re)saved as a draft so
    nothing typed is lost, and the outcome says why in plain words.
    """
    try:
        route = _route(smtp, mailbox)
        sending = replace(draft, extra_headers={**draft.extra_headers, **route.headers()})
        msg = build_message(sending, message_id_domain=_domain(route.envelope_from or mailbox.username))
        allowed = route.allowed_hosts
        pinned = resolve_user_host(route.endpoint, allowed) if allowed is not None else None
        raw = bytes(msg)  # generated once: the Sent copy, and without Bcc for the wire
        result: SendResult = send(
            route.endpoint,
            username=route.username,
            password=route.password,
            envelope_from=route.envelope_from or msg["From"].addresses[0].addr_spec,
            recipients=recipients(msg),
            data=without_bcc(raw),
            pinned=pinned,
        )
    except MailError as exc:
        kept = _keep_as_draft(mailbox, draft, draft_uid)
        return Outcome(sent=False, draft_uid=kept, error=exc.user_message)
    copy_error = ""
    try:
        with mailbox.session() as mail:
            # The message has left: whatever happens to its copy, it must not be reported unsent.
            try:
                sent_folder = mail.role_folder(FolderRole.SENT, "Sent")
                mail.append(sent_folder, raw, flags=(b"\\Seen",), when=timezone.now())
            except MailError as exc:
                logger.warning("sent, but the Sent copy was refused: %s", exc.__class__.__name__)
                copy_error = exc.user_message
            if origin is not None:
                try:
                    mail.add_flag(origin.folder, origin.uid, origin.flag)
                except MailError:
                    logger.info("could not flag the original message; it may have moved")
            if draft_uid:
                try:
                    mail.remove(mail.role_folder(FolderRole.DRAFTS, "Drafts"), draft_uid)
                except MailError:
                    logger.info("sent, but its draft could not be removed")
    except MailError as exc:  # the connection itself failed after sending
        copy_error = copy_error or exc.user_message
    return Outcome(sent=True, refused=result.refused or None, sent_copy_error=copy_error)


def _keep_as_draft(mailbox: UserMailbox, draft: Draft, draft_uid: int | None) -> int | None:
    try:
        return save_draft(mailbox, draft, replaces=draft_uid)
    except MailError:
        logger.warning("sending failed and the draft could not be saved either")
        return draft_uid
