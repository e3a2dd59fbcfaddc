"""Organising mail: thin POST views over the mail session (flags, move, delete, undo, empty).

Every action redirects back to the list it came from (htmx's boost follows
the redirect and swaps the page), with a notice. UIDs another device already
moved give a polite notice, never an error page.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from webmail.http.bounds import MAX_FOLDER_NAME, parse_uid
from webmail.http.decorators import mailbox_required
from webmail.http.signedin import SignedInRequest
from webmail.mailaccess.errors import (
    CannotMoveSafely,
    FolderNotFound,
    MailboxFull,
    MessageGone,
    NoSuchRoleFolder,
    NotAllowed,
)
from webmail.mailaccess.session import FLAGGED, SEEN, ActionResult, MailSession, UserMailbox
from webmail.mailaccess.types import FolderRole
from webmail.mailbox.quota import forget_quota
from webmail.mailbox.uidsets import expand_uid_set, format_uid_set, parse_uid_sets

UNDO_KEY = "webmail_undo"
MAX_UIDS = 5000  # one request; "all in folder" has no such limit

FLAG_ACTIONS: dict[str, tuple[bytes, bool]] = {
    "read": (SEEN, True),
    "unread": (SEEN, False),
    "flag": (FLAGGED, True),
    "unflag": (FLAGGED, False),
}
ROLE_ACTIONS = {"archive": FolderRole.ARCHIVE, "junk": FolderRole.JUNK, "notjunk": FolderRole.INBOX}


def _back(request: HttpRequest, folder: str) -> str:
    nxt = request.POST.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, {request.get_host()}, require_https=request.is_secure()):
        return nxt
    return f"{reverse('mailbox:list')}?{urlencode({'folder': folder})}"


def posted_folder(request: HttpRequest, field: str) -> str | None:
    """A posted folder name; None (after a notice) when it is longer than any folder name."""
    name = request.POST.get(field) or ""
    if len(name) > MAX_FOLDER_NAME:
        messages.error(
            request, _("This folder name is too long (at most %(n)d characters).") % {"n": MAX_FOLDER_NAME}
        )
        return None
    return name


def posted_action(request: HttpRequest) -> tuple[str, str | None, list[str] | None]:
    """What was asked: the action, the target folder it names, and the rows it is for.

    The list's buttons send ``action`` (for the ticked rows); a row's own buttons send
    ``row_action`` = "archive 3:7,12" (that row only, whatever is ticked); the folder menus
    send ``move_to`` or ``copy_to`` = the folder. The rows are None when they are the ticked ones.
    """
    row = request.POST.get("row_action", "")
    if row:
        action, _sep, box = row.partition(" ")
        return action, None, [box]
    for field, action in (("move_to", "move"), ("copy_to", "copy")):
        if request.POST.get(field):
            return action, field, None
    return request.POST.get("action") or "", None, None


def _uids(request: HttpRequest, boxes: list[str] | None = None) -> list[int] | None:
    """The selected UIDs; None means every message in the folder."""
    if boxes is None and request.POST.get("scope") == "all":
        return None
    # A conversation's box carries all its UIDs as a compact set ("3:7,12").
    uids, cut = parse_uid_sets(request.POST.getlist("uid") if boxes is None else boxes, MAX_UIDS)
    if cut:
        messages.warning(
            request,
            _(
                "Only the first %(n)d selected messages were changed: repeat the action for the "
                "rest, or tick all messages in the folder."
            )
            % {"n": MAX_UIDS},
        )
    return uids


def _done_message(action: str, result: ActionResult) -> str:
    n = result.count
    texts = {
        "read": ngettext("%(n)d message marked read.", "%(n)d messages marked read.", n),
        "unread": ngettext("%(n)d message marked unread.", "%(n)d messages marked unread.", n),
        "flag": ngettext("%(n)d message flagged.", "%(n)d messages flagged.", n),
        "unflag": ngettext("%(n)d message unflagged.", "%(n)d messages unflagged.", n),
        "move": ngettext("%(n)d message moved.", "%(n)d messages moved.", n),
        "copy": ngettext("%(n)d message copied.", "%(n)d messages copied.", n),
        "delete": ngettext("%(n)d message moved to Trash.", "%(n)d messages moved to Trash.", n),
        "archive": ngettext("%(n)d message archived.", "%(n)d messages archived.", n),
        "junk": ngettext("%(n)d message marked as spam.", "%(n)d messages marked as spam.", n),
        "notjunk": ngettext("%(n)d message moved to the Inbox.", "%(n)d messages moved to the Inbox.", n),
    }
    if action == "delete" and result.expunged:
        return ngettext("%(n)d message deleted for good.", "%(n)d messages deleted for good.", n) % {"n": n}
    return texts[action] % {"n": n}


# The RFC 4314 rights each action needs in the folder it acts on; the rest move mail out
# of it ("t" to mark it deleted, "e" to expunge). Dovecot ignores a flag change the user has
# no right to without a word, so in someone else's folder we ask MYRIGHTS first and say so.
NEEDED_RIGHTS = {"read": "s", "unread": "s", "flag": "w", "unflag": "w", "copy": "r"}


def check_rights(mail: MailSession, action: str, folder: str) -> None:
    if mail.namespaces().in_shared(folder) and not mail.my_rights(folder).has(
        NEEDED_RIGHTS.get(action, "te")
    ):
        raise NotAllowed(detail=f"{action} without the right")


def _run(mail: MailSession, action: str, folder: str, uids: list[int] | None, target: str) -> ActionResult:
    check_rights(mail, action, folder)
    if action in FLAG_ACTIONS:
        flag, add = FLAG_ACTIONS[action]
        return mail.set_flags(folder, uids, [flag], add=add)
    if action == "move":
        return mail.move(folder, uids, target)
    if action == "copy":
        return mail.copy(folder, uids, target)
    if action == "delete":
        return mail.delete(folder, uids)
    return mail.move_to_role(folder, uids, ROLE_ACTIONS[action])


VALID_ACTIONS = frozenset({*FLAG_ACTIONS, "move", "copy", "delete", *ROLE_ACTIONS})


@require_POST
@mailbox_required
def bulk_action_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    action, target_field, boxes = posted_action(request)
    folder, target = posted_folder(request, "folder"), posted_folder(request, target_field or "target")
    if folder is None or target is None:
        return redirect(_back(request, "INBOX"))
    if not folder or action not in VALID_ACTIONS or (action in ("move", "copy") and not target):
        return HttpResponseBadRequest(_("This action is not possible."))
    uids = _uids(request, boxes)
    if uids == []:
        messages.info(request, _("Select one or more messages first."))
        return redirect(_back(request, folder))
    try:
        with mailbox.session() as mail:
            result = _run(mail, action, folder, uids, target)
    except MessageGone:
        messages.warning(
            request,
            _("These messages are no longer here; they may have been moved or deleted on another device."),
        )
        return redirect(_back(request, folder))
    except FolderNotFound:
        messages.error(request, _("That folder no longer exists; it may have been renamed or deleted."))
        return redirect(_back(request, folder))
    except (NoSuchRoleFolder, CannotMoveSafely, MailboxFull, NotAllowed) as exc:
        messages.error(request, exc.user_message)
        return redirect(_back(request, folder))
    if action == "delete" and result.expunged:
        forget_quota(mailbox, session_key=request.session.session_key or "")
    undoable = _remember_undo(request, action, result)
    if result.count:
        messages.success(request, _done_message(action, result), extra_tags="undo" if undoable else "")
    if result.missing:
        messages.info(
            request,
            ngettext(
                "%(n)d message had already been moved or deleted on another device.",
                "%(n)d messages had already been moved or deleted on another device.",
                len(result.missing),
            )
            % {"n": len(result.missing)},
        )
    return redirect(_back(request, folder))


def _remember_undo(request: HttpRequest, action: str, result: ActionResult) -> bool:
    """Keep the last move or delete so it can be undone (needs the server's COPYUID); True
    when this action can be. A flag change is not offered an undo: which messages had the
    flag before is not known here, and the opposite button is one click away."""
    if action in ("move", "delete", *ROLE_ACTIONS) and result.target and result.uid_map:
        request.session[UNDO_KEY] = {
            "from": result.target,
            "to": result.folder,
            # Compact ("1:40000"): moving a whole folder must not bloat the session.
            "uids": format_uid_set(result.uid_map.values()),
        }
        return True
    if action not in FLAG_ACTIONS and action != "copy":
        request.session.pop(UNDO_KEY, None)
    return False


@require_POST
@mailbox_required
def undo_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    undo = request.session.pop(UNDO_KEY, None)
    if not undo:
        messages.info(request, _("There is nothing to undo."))
        return redirect(_back(request, "INBOX"))
    uids = undo["uids"]
    if isinstance(uids, str):  # our own compact set; every UID the move gave, however many
        uids = expand_uid_set(uids)
    try:
        with mailbox.session() as mail:
            result = mail.undo_move(undo["from"], uids, undo["to"])
    except (MessageGone, FolderNotFound):
        messages.warning(request, _("The messages could not be moved back; they have been moved since."))
        return redirect(_back(request, undo["to"]))
    except (MailboxFull, NotAllowed) as exc:
        messages.error(request, exc.user_message)
        return redirect(_back(request, undo["to"]))
    messages.success(
        request,
        ngettext("%(n)d message moved back.", "%(n)d messages moved back.", result.count)
        % {"n": result.count},
    )
    return redirect(_back(request, undo["to"]))


@require_POST
@mailbox_required
def star_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    """The star of a row: flag or unflag one message. 204 for the page's script, else back to the list."""
    folder = posted_folder(request, "folder")
    uid = parse_uid(request.POST.get("uid", ""))
    if not folder or uid is None:
        return HttpResponseBadRequest(_("This action is not possible."))
    on = request.POST.get("on") == "1"
    try:
        with mailbox.session() as mail:
            check_rights(mail, "flag", folder)
            mail.set_flags(folder, [uid], [FLAGGED], add=on)
    except (MessageGone, FolderNotFound):
        if request.htmx:
            return HttpResponse(status=410)
        messages.warning(
            request, _("This message is no longer here; it may have been moved on another device.")
        )
    except NotAllowed as exc:
        if request.htmx:
            return HttpResponse(exc.user_message, status=403, content_type="text/plain; charset=utf-8")
        messages.error(request, exc.user_message)
    if request.htmx:
        return HttpResponse(status=204)
    return redirect(_back(request, folder))


@require_POST
@mailbox_required
def empty_folder_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    """Empty Trash or Junk, once the user confirmed."""
    folder = posted_folder(request, "folder")
    if folder is None:
        return redirect(_back(request, "INBOX"))
    with mailbox.session() as mail:
        current = next((f for f in mail.folders() if f.name == folder), None)
        if current is None or current.role not in (FolderRole.TRASH, FolderRole.JUNK):
            return HttpResponseBadRequest(_("Only Trash and Junk can be emptied."))
        if request.POST.get("confirm") != "1":
            messages.warning(request, _("Please confirm to empty this folder."))
            return redirect(_back(request, folder))
        result = mail.empty_folder(folder)
    forget_quota(mailbox, session_key=request.session.session_key or "")  # room was made: show it
    messages.success(
        request,
        ngettext("%(n)d message deleted for good.", "%(n)d messages deleted for good.", result.count)
        % {"n": result.count},
    )
    return redirect(_back(request, folder))
