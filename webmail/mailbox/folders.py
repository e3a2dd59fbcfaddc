"""Settings, "Manage folders": create, rename, move, delete and subscribe."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from webmail.http.bounds import MAX_FOLDER_NAME
from webmail.http.decorators import mailbox_required
from webmail.http.signedin import SignedInRequest
from webmail.mailaccess.errors import (
    FolderExists,
    FolderNotEmpty,
    FolderNotFound,
    InvalidFolderName,
    MailboxFull,
    NotAllowed,
    ProtectedFolder,
    ProtocolError,
)
from webmail.mailaccess.session import MailSession, UserMailbox
from webmail.mailaccess.types import Folder

from .organise import posted_folder


@require_http_methods(["GET", "POST"])
@mailbox_required
def folders_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    if request.method == "POST":
        return _folder_post(request, mailbox)

    def load(mail: MailSession) -> tuple[list[Folder], set[str], bool, dict[str, list[str]]]:
        # Folders others share with the user are theirs to manage, not the user's.
        own = [f for f in mail.folders() if not f.in_shared]
        can_share = mail.can_share()
        # Who each folder is shared with (one GETACL a folder: this page only, not the mail pages).
        shared_with = {
            f.name: sorted(s.identifier for s in mail.shares(f.name) if s.identifier.lower() != me)
            for f in own
            if can_share and f.selectable
        }
        return own, mail.subscribed_folders(), can_share, shared_with

    me = mailbox.username.lower()
    folders, subscribed, can_share, shared_with = mailbox.read(load)
    rows = [(f, shared_with.get(f.name, [])) for f in folders]
    return render(
        request,
        "mailbox/folders.html",
        {"folders": folders, "rows": rows, "subscribed": subscribed, "can_share": can_share},
    )


def _folder_post(request: HttpRequest, mailbox: UserMailbox) -> HttpResponse:
    op = request.POST.get("op", "")
    name = posted_folder(request, "folder")
    parent = posted_folder(request, "parent")
    if name is None or parent is None:
        return redirect("mailbox:folders")
    leaf = request.POST.get("name", "")
    if len(leaf) > MAX_FOLDER_NAME:
        messages.error(request, InvalidFolderName().user_message)
        return redirect("mailbox:folders")
    try:
        with mailbox.session() as mail:
            if op == "create":
                new = mail.full_folder_name(leaf, parent or None)
                mail.create_folder(new)
                messages.success(request, _("Folder “%(name)s” created.") % {"name": new})
            elif op == "rename":
                new = mail.full_folder_name(leaf, parent or None)
                mail.rename_folder(name, new)
                messages.success(request, _("Folder renamed to “%(name)s”.") % {"name": new})
            elif op == "delete":
                mail.delete_folder(name, confirmed=request.POST.get("confirm") == "1")
                messages.success(request, _("Folder “%(name)s” deleted.") % {"name": name})
            elif op in ("subscribe", "unsubscribe"):
                mail.set_subscribed(name, op == "subscribe")
                messages.success(request, _("Subscription updated."))
            else:
                return HttpResponseBadRequest(_("This action is not possible."))
    except FolderNotEmpty:
        messages.warning(
            request,
            _("“%(name)s” is not empty. Tick “Also delete its messages” to delete it.") % {"name": name},
        )
    except (
        ProtectedFolder,
        FolderExists,
        InvalidFolderName,
        FolderNotFound,
        MailboxFull,
        NotAllowed,
    ) as exc:
        messages.error(request, exc.user_message)
    except ProtocolError:
        messages.error(request, _("The mail server refused this change."))
    return redirect("mailbox:folders")
