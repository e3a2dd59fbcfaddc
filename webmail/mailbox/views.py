"""The three-pane mailbox: folder tree, message list, reading pane."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from webmail.http.bounds import MAX_TOKEN, BadInput, bounded, folder_param, page_param
from webmail.http.decorators import mailbox_required
from webmail.http.signedin import SignedInRequest
from webmail.mailaccess.session import MailSession, Rights, UserMailbox
from webmail.mailaccess.types import Folder, FolderRole, MessagePage, SortKey
from webmail.mailbox.uidsets import MAX_TREE_TEXT, parse_tree, parse_uid

SORT_CHOICES = [s.value for s in SortKey]
SORT_LABELS = [
    (SortKey.ARRIVAL.value, gettext_lazy("Received")),
    (SortKey.DATE.value, gettext_lazy("Date")),
    (SortKey.FROM.value, gettext_lazy("From")),
    (SortKey.SUBJECT.value, gettext_lazy("Subject")),
    (SortKey.SIZE.value, gettext_lazy("Size")),
]


def message_url(folder: str, role: str = "", view: str = "message") -> str:
    """A message's (or, with view="conversation", a conversation's) address without its UID:
    built once per page, each row appends its UID.

    The folder's role rides along so the reading pane offers the actions that fit it (no
    "Archive" in Archive) without asking the server for the folder list again.
    """
    query = {"folder": folder, "role": role} if role else {"folder": folder}
    return f"{reverse('reading:' + view)}?{urlencode(query)}&uid="


@dataclass(frozen=True)
class ListParams:
    folder: str
    page: int
    sort: SortKey
    reverse: bool
    size: int


def list_params(request: HttpRequest) -> ListParams:
    """Folder, page, sort and order, bounded (BadInput) before any IMAP work."""
    folder = folder_param(request.GET.get("folder"), default="INBOX")
    page = page_param(request.GET.get("page"))
    sort_value = request.GET.get("sort", SortKey.ARRIVAL.value)
    sort = SortKey(sort_value) if sort_value in SORT_CHOICES else SortKey.ARRIVAL
    reverse = request.GET.get("order", "desc") != "asc"
    return ListParams(folder, page, sort, reverse, settings.WEBMAIL_PAGE_SIZE)


VIEW_SESSION_KEY = "webmail_list_view"
THREADS = "threads"
FLAT = "list"


def view_mode(request: HttpRequest, *, remember: bool = False) -> str:
    """Conversations or flat list: the ``view`` parameter, else the last choice on this device."""
    asked = request.GET.get("view")
    if asked in (THREADS, FLAT):
        if remember and request.session.get(VIEW_SESSION_KEY) != asked:
            request.session[VIEW_SESSION_KEY] = asked
        return asked
    return request.session.get(VIEW_SESSION_KEY, FLAT)


def load_listing(mail: MailSession, params: ListParams, mode: str) -> MessagePage:
    if mode == THREADS:
        return mail.threads(params.folder, page=params.page, page_size=params.size)
    return mail.page(
        params.folder,
        page=params.page,
        page_size=params.size,
        sort=params.sort,
        reverse=params.reverse,
    )


def listing_context(mail: MailSession, params: ListParams, mode: str) -> dict[str, object]:
    """Folder tree, one page of the list, and the change token the page's poller starts from."""
    token, folders = mail.snapshot(params.folder)
    context = _context(folders, load_listing(mail, params, mode), folder_rights(mail, folders, params.folder))
    context["sync_state"] = token
    context["list_view"] = mode
    return context


@require_GET
@bounded
@mailbox_required
def mailbox_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    mode = view_mode(request, remember=True)
    params = list_params(request)
    context = mailbox.read(lambda mail: listing_context(mail, params, mode))
    return render(request, "mailbox/list_page.html", context)


@require_GET
@bounded
@mailbox_required
def conversation_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    """The rows of one conversation, fetched when the user opens it in the list."""
    folder = folder_param(request.GET.get("folder"), default="INBOX")
    tree_text = request.GET.get("tree", "")
    if len(tree_text) > MAX_TREE_TEXT:
        raise BadInput(_("This conversation cannot be opened: its link is too long."))
    tree = parse_tree(tree_text)
    role = request.GET.get("role", "")
    entries = mailbox.read(lambda mail: mail.conversation(folder, tree))
    context = {
        "entries": entries,
        # Only the role matters to the rows (Sent and Drafts show recipients, Trash deletes
        # for good, Archive has no "Archive"): no folder listing.
        "current_folder": {"role": context_role(role)},
        "key": parse_uid(request.GET.get("key", "")) or 0,
        "more": min(parse_uid(request.GET.get("more", "")) or 0, 10**6),
        "message_url": message_url(folder, context_role(role)),
    }
    return render(request, "mailbox/partials/_conversation_rows.html", context)


def context_role(role: str) -> str:
    """A folder role named in a URL, if it is one."""
    return role if role in {r.value for r in FolderRole} else ""


def folder_rights(mail: MailSession, folders: list[Folder], folder: str) -> Rights:
    """What the user may do in the listed folder: MYRIGHTS where someone else owns it (RFC 4314),
    everything in the user's own folders (no round trip). Buttons it forbids are left out."""
    current = next((f for f in folders if f.name == folder), None)
    if current is not None and current.in_shared:
        return mail.my_rights(folder)
    return Rights.everything()


_SEARCH_FIELDS = ["q", "from", "to", "subject", "body", "since", "before", "attachment", "unread", "flagged"]
NO_SEARCH = MappingProxyType(dict.fromkeys(_SEARCH_FIELDS, ""))  # one for every page: read-only


def _context(folders: list[Folder], listing: MessagePage, rights: Rights | None = None) -> dict[str, object]:
    current = next((f for f in folders if f.name == listing.folder), None)
    unread_inbox = next((f.unseen for f in folders if f.name.upper() == "INBOX"), None)
    role = current.role.value if current else ""
    return {
        "folders": folders,
        "current_folder": current,
        "listing": listing,
        "sort_choices": SORT_LABELS,
        # Built once, not per row: rows only append their UID.
        "message_url": message_url(listing.folder, role),
        "conversation_url": message_url(listing.folder, role, "conversation"),
        "unread_inbox": unread_inbox or 0,
        "rights": rights or Rights.everything(),
        # What the search page (mailbox/search.py) sets, blank here: a missing name costs
        # the template engine an exception and a log call each time a page asks for it.
        "search": NO_SEARCH,
        "searching": False,
        "search_scope": "",
        "back_url": "",
    }


@require_GET
@bounded
@mailbox_required
def poll_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    """Polled every ~45 s: 204 when nothing changed, else the page (the mail picks its parts)."""
    params = list_params(request)
    mode = view_mode(request)
    known = request.GET.get("state", "")[:MAX_TOKEN]

    def load(mail: MailSession) -> dict[str, object] | None:
        token, folders = mail.snapshot(params.folder)
        if known and token == known:
            return None
        context = _context(
            folders, load_listing(mail, params, mode), folder_rights(mail, folders, params.folder)
        )
        context.update(sync_state=token, list_view=mode)
        return context

    context = mailbox.read(load)
    if context is None:
        return HttpResponse(status=204)
    # Actions on the refreshed list return to the list, not to this endpoint.
    query = request.GET.copy()
    query.pop("state", None)
    context["back_url"] = f"{reverse('mailbox:list')}?{query.urlencode()}"
    return render(request, "mailbox/list_page.html", context)


# --- Folder management -------------------------------------------------------
