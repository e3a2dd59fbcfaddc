"""The attachments of one compose request: the files waiting server-side and those just uploaded.

What a user chose is staged (``staging.py``) before the form is even checked,
so a form error keeps it; what cannot be kept is named in an error, never
dropped in silence. A resumed draft's attachments are staged too, under a
token derived from where they live, so opening the same draft again reuses
them instead of filling the user's quota.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from webmail.compose import staging
from webmail.compose.build import Attachment, InvalidMessage
from webmail.compose.staging import MAX_ATTACHMENTS, QuotaExceeded, Staged
from webmail.compose.upload_limit import AttachmentBudget
from webmail.mailaccess.session import MailSession
from webmail.messages.choose import attachment_name
from webmail.messages.transfer import decode_stream


@dataclass
class Collected:
    staged: list[Staged] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(s.size for s in self.staged)


def limit_mb() -> int:
    return staging.max_message_bytes() // (1024 * 1024)


def _too_big(name: str) -> str:
    return _("“%(name)s” was not attached: attachments may total at most %(size)d MB.") % {
        "name": name,
        "size": limit_mb(),
    }


def _too_many(name: str) -> str:
    return _("“%(name)s” was not attached: a message can have at most %(count)d attachments.") % {
        "name": name,
        "count": MAX_ATTACHMENTS,
    }


def _quota(name: str) -> str:
    return _(
        "“%(name)s” was not attached: too many files are waiting to be sent from your account; "
        "send or remove some first."
    ) % {"name": name}


def collect(
    request: HttpRequest, user_id: int, budget: AttachmentBudget | None, *, report_missing: bool = True
) -> Collected:
    """The files listed on the form (``staged``) plus the new uploads, staged."""
    found, missing = staging.find(user_id, request.POST.getlist("staged")[: MAX_ATTACHMENTS * 2])
    out = Collected(staged=found)
    if missing and report_missing:
        out.errors.append(
            ngettext(
                "An attachment you added is no longer on the server (files wait at most a day); "
                "please add it again.",
                "%(count)d attachments you added are no longer on the server (files wait at most a day); "
                "please add them again.",
                missing,
            )
            % {"count": missing}
        )
    if budget is not None:
        out.errors += [_too_big(name) for name in budget.refused]
        out.errors += [_too_many(name) for name in budget.too_many]
    limit = staging.max_message_bytes()
    for upload in request.FILES.getlist("attachments"):
        name = upload.name or "attachment"
        if len(out.staged) >= MAX_ATTACHMENTS:
            out.errors.append(_too_many(name))
            continue
        if out.total + (upload.size or 0) > limit:
            out.errors.append(_too_big(name))
            continue
        try:
            staged = staging.stage(
                user_id,
                name=name,
                content_type=upload.content_type or "application/octet-stream",
                chunks=upload.chunks(),
            )
        except QuotaExceeded:
            out.errors.append(_quota(name))
            continue
        out.staged.append(staged)
    if len(out.staged) > MAX_ATTACHMENTS:
        out.errors.append(_("A message can have at most %(count)d attachments.") % {"count": MAX_ATTACHMENTS})
    elif out.total > limit:
        out.errors.append(_("Attachments may total at most %(size)d MB.") % {"size": limit_mb()})
    return out


def load(user_id: int, staged: list[Staged]) -> list[Attachment]:
    """The staged files' bytes, for building the message."""
    out = []
    for item in staged:
        try:
            data = staging.read(user_id, item)
        except OSError as exc:
            raise InvalidMessage(
                _("“%(name)s” is no longer on the server; please add it again.") % {"name": item.name}
            ) from exc
        out.append(Attachment(item.name, item.content_type or "application/octet-stream", data))
    return out


def stage_from_message(mail: MailSession, user_id: int, folder: str, uid: int) -> Collected:
    """A draft's attachments (the parts after its body in multipart/mixed), staged for the form."""
    head = mail.head(folder, uid)
    out = Collected()
    tree = head.tree
    parts = tree.children[1:] if tree.content_type == "multipart/mixed" else ()
    for part in parts[:MAX_ATTACHMENTS]:
        name = attachment_name(part)
        where = f"{head.uidvalidity}/{folder}/{uid}/{part.section}"
        token = hashlib.sha256(where.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        already, _missing = staging.find(user_id, [token])
        if already:
            out.staged += already
            continue
        if out.total + part.size > staging.max_message_bytes() * 2:  # encoded size: a generous bound
            out.errors.append(_too_big(name))
            continue
        try:
            out.staged.append(
                staging.stage(
                    user_id,
                    name=name,
                    content_type=part.content_type,
                    chunks=decode_stream(mail.stream(folder, uid, part.section), part.encoding),
                    token=token,
                )
            )
        except QuotaExceeded:
            out.errors.append(_quota(name))
    return out
