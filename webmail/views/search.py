"""Searching mail on the server: the current folder (paginated, sortable) or all folders."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from webmail.mailaccess.folders import list_folders
from webmail.mailaccess.imap import IMAPClient
from webmail.mailaccess.search import SearchQuery, search_all_folders, search_folder
from webmail.mailbox import UserMailbox

from .decorators import mailbox_required
from .mailbox import _context, _list_params, _page_size

TEXT_FIELDS = {"q": "text", "from": "sender", "to": "recipient", "subject": "subject", "body": "body"}
FLAG_FIELDS = {"attachment": "has_attachment", "unread": "unread", "flagged": "flagged"}


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def parse_query(request: HttpRequest) -> SearchQuery:
    values: dict[str, object] = {
        attr: " ".join((request.GET.get(param) or "").split())[:200] for param, attr in TEXT_FIELDS.items()
    }
    values.update({attr: request.GET.get(param) == "1" for param, attr in FLAG_FIELDS.items()})
    values["since"] = _date(request.GET.get("since"))
    values["before"] = _date(request.GET.get("before"))
    return SearchQuery(**values)  # type: ignore[arg-type]


@require_GET
@mailbox_required
def search_view(request: HttpRequest, mailbox: UserMailbox) -> HttpResponse:
    folder, page, sort, descending = _list_params(request)
    query = parse_query(request)
    everywhere = request.GET.get("scope") == "all"
    size = _page_size(request)

    def load(client: IMAPClient) -> dict[str, object]:
        folders = list_folders(client)
        listing = search_folder(
            client, folder, query, page=page, page_size=size, sort=sort, reverse=descending
        )
        context = _context(folders, listing)
        if everywhere:
            context["search_groups"] = [
                {
                    "folder": hits.folder,
                    "total": hits.total,
                    "messages": hits.messages,
                    "message_url": f"{reverse('message')}?{urlencode({'folder': hits.folder})}&uid=",
                }
                for hits in search_all_folders(client, query)
            ]
        return context

    context = mailbox.read(load)
    context["search"] = {k: request.GET.get(k, "") for k in [*TEXT_FIELDS, *FLAG_FIELDS, "since", "before"]}
    context["search_scope"] = "all" if everywhere else "folder"
    context["searching"] = True
    return render(request, "webmail/mailbox.html", context)
