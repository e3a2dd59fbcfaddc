"""The three-pane mailbox: folder tree, message list, reading pane."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from webmail.mailaccess.folders import list_folders
from webmail.mailaccess.listing import list_page
from webmail.mailaccess.types import Folder, MessagePage, SortKey
from webmail.mailbox import UserMailbox

from .decorators import mailbox_required

SORT_CHOICES = [s.value for s in SortKey]
SORT_LABELS = [
    (SortKey.ARRIVAL.value, _("Received")),
    (SortKey.DATE.value, _("Date")),
    (SortKey.FROM.value, _("From")),
    (SortKey.SUBJECT.value, _("Subject")),
    (SortKey.SIZE.value, _("Size")),
]


def _list_params(request: HttpRequest) -> tuple[str, int, SortKey, bool]:
    folder = request.GET.get("folder") or "INBOX"
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    sort_value = request.GET.get("sort", SortKey.ARRIVAL.value)
    sort = SortKey(sort_value) if sort_value in SORT_CHOICES else SortKey.ARRIVAL
    reverse = request.GET.get("order", "desc") != "asc"
    return folder[:1000], page, sort, reverse


def _page_size(request: HttpRequest) -> int:
    return settings.WEBMAIL_PAGE_SIZE


@require_GET
@mailbox_required
def mailbox_view(request: HttpRequest, mailbox: UserMailbox) -> HttpResponse:
    folder, page, sort, reverse = _list_params(request)
    size = _page_size(request)

    def load(client: object) -> tuple[list[Folder], MessagePage]:
        folders = list_folders(client)  # type: ignore[arg-type]
        listing = list_page(client, folder, page=page, page_size=size, sort=sort, reverse=reverse)  # type: ignore[arg-type]
        return folders, listing

    folders, listing = mailbox.read(load)
    context = _context(folders, listing)
    return render(request, "webmail/mailbox.html", context)


def _context(folders: list[Folder], listing: MessagePage) -> dict[str, object]:
    current = next((f for f in folders if f.name == listing.folder), None)
    unread_inbox = next((f.unseen for f in folders if f.name.upper() == "INBOX"), None)
    return {
        "folders": folders,
        "current_folder": current,
        "listing": listing,
        "sort_choices": SORT_LABELS,
        # Built once, not per row: rows only append their UID.
        "message_url": f"{reverse('message')}?{urlencode({'folder': listing.folder})}&uid=",
        "unread_inbox": unread_inbox or 0,
    }
