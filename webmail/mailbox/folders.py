"""Settings, "Manage folders": create, rename, move, delete and subscribe."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from webmail.http.bounds import MAX_FOLDER_NAME
from webmail.http.decorators import mailbox_required
from webmail.mailaccess import folder_admin
from webmail.mailaccess.errors import FolderNotFound, ProtocolError
from webmail.mailaccess.folders import list_folders
from webmail.mailaccess.imap import IMAPClient
from webmail.mailaccess.session import UserMailbox

from .actions import posted_folder


@require_http_methods(["GET", "POST"])
@mailbox_required
def folders_view(request: HttpRequest, mailbox: UserMailbox) -> HttpResponse:
    if request.method == "POST":
        return _folder_post(request, mailbox)

    def load(client: IMAPClient) -> tuple[list[object], set[str]]:
        return list_folders(client), folder_admin.subscribed_names(client)  # type: ignore[return-value]

    folders, subscribed = mailbox.read(load)
    return render(request, "mailbox/folders.html", {"folders": folders, "subscribed": subscribed})


def _folder_post(request: HttpRequest, mailbox: UserMailbox) -> HttpResponse:
    op = request.POST.get("op", "")
    name = posted_folder(request, "folder")
    parent = posted_folder(request, "parent")
    if name is None or parent is None:
        return redirect("mailbox:folders")
    leaf = request.POST.get("name", "")
    if len(leaf) > MAX_FOLDER_NAME:
        messages.error(request, folder_admin.InvalidFolderName().user_message)
        return redirect("mailbox:folders")
    try:
        with mailbox.connection() as client:
            if op == "create":
                new = folder_admin.full_name(client, leaf, parent or None)
                folder_admin.create_folder(client, new)
                messages.success(request, _("Folder “%(name)s” created.") % {"name": new})
            elif op == "rename":
                new = folder_admin.full_name(client, leaf, parent or None)
                folder_admin.rename_folder(client, name, new)
                messages.success(request, _("Folder renamed to “%(name)s”.") % {"name": new})
            elif op == "delete":
                folder_admin.delete_folder(client, name, confirmed=request.POST.get("confirm") == "1")
                messages.success(request, _("Folder “%(name)s” deleted.") % {"name": name})
            elif op in ("subscribe", "unsubscribe"):
                folder_admin.set_subscribed(client, name, op == "subscribe")
                messages.success(request, _("Subscription updated."))
            else:
                return HttpResponseBadRequest(_("This action is not possible."))
    except folder_admin.FolderNotEmpty:
        messages.warning(
            request,
            _("“%(name)s” is not empty. Tick “Also delete its messages” to delete it.") % {"name": name},
        )
    except (
        folder_admin.ProtectedFolder,
        folder_admin.FolderExists,
        folder_admin.InvalidFolderName,
        FolderNotFound,
    ) as exc:
        messages.error(request, exc.user_message)
    except ProtocolError:
        messages.error(request, _("The mail server refused this change."))
    return redirect("mailbox:folders")
