"""Searching mail on the server: the current folder (paginated, sortable) or all folders."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from webmail.http.bounds import BadInput, bounded
from webmail.http.decorators import mailbox_required
from webmail.http.signedin import SignedInRequest
from webmail.mailaccess.session import MailSession, SearchQuery, UserMailbox
from webmail.mailaccess.types import MessagePage
from webmail.mailbox.views import _context, folder_rights, list_params, message_url

TEXT_FIELDS = {"q": "text", "from": "sender", "to": "recipient", "subject": "subject", "body": "body"}
FLAG_FIELDS = {"attachment": "has_attachment", "unread": "unread", "flagged": "flagged"}
MAX_TERM = 200  # characters per search field
# IMAP dates have a four-digit year, and "until" searches up to the next day.
EARLIEST, LATEST = date(1900, 1, 1), date(9999, 12, 30)


def _labels() -> dict[str, str]:
    return {
        "q": _("Search"),
        "from": _("From"),
        "to": _("To"),
        "subject": _("Subject"),
        "body": _("Body"),
        "since": _("Since"),
        "before": _("Until"),
    }


def _date(request: HttpRequest, param: str) -> date | None:
    value = (request.GET.get(param) or "").strip()
    if not value:
        return None
    try:
        parsed = date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        parsed = None
    if parsed is None or not EARLIEST <= parsed <= LATEST:
        raise BadInput(
            _("“%(field)s” must be a date between %(first)s and %(last)s, written YYYY-MM-DD.")
            % {"field": _labels()[param], "first": EARLIEST.isoformat(), "last": LATEST.isoformat()}
        )
    return parsed


def parse_query(request: HttpRequest) -> SearchQuery:
    """The search fields, each checked against its bound (BadInput) before any IMAP work."""
    texts: dict[str, str] = {}
    for param, attr in TEXT_FIELDS.items():
        text = " ".join((request.GET.get(param) or "").split())
        if len(text) > MAX_TERM:
            raise BadInput(
                _("“%(field)s” is too long: search for at most %(n)d characters.")
                % {"field": _labels()[param], "n": MAX_TERM}
            )
        texts[attr] = text
    flags = {attr: request.GET.get(param) == "1" for param, attr in FLAG_FIELDS.items()}
    since, before = _date(request, "since"), _date(request, "before")
    if since and before and since > before:
        raise BadInput(_("“Since” is after “Until”: no message can match."))
    return SearchQuery(
        text=texts["text"],
        sender=texts["sender"],
        recipient=texts["recipient"],
        subject=texts["subject"],
        body=texts["body"],
        has_attachment=flags["has_attachment"],
        unread=flags["unread"],
        flagged=flags["flagged"],
        since=since,
        before=before,
    )


@require_GET
@bounded
@mailbox_required
def search_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    params = list_params(request)
    query = parse_query(request)
    everywhere = request.GET.get("scope") == "all"

    def load(mail: MailSession) -> dict[str, object]:
        folders = mail.folders()
        if everywhere:
            # The groups are the answer; the current folder is one of them.
            listing = MessagePage(params.folder, 0, 1, params.size, params.sort, params.reverse)
        else:
            listing = mail.search(
                params.folder,
                query,
                page=params.page,
                page_size=params.size,
                sort=params.sort,
                reverse=params.reverse,
            )
        context = _context(folders, listing, folder_rights(mail, folders, params.folder))
        if everywhere:
            found = mail.search_everywhere(query, folders=folders)
            context["search_groups"] = [
                {
                    "folder": hits.folder.name,
                    "label": hits.folder.display_name,
                    "role": hits.folder.role.value,
                    "total": hits.total,
                    "messages": hits.messages,
                    "message_url": message_url(hits.folder.name, hits.folder.role.value),
                }
                for hits in found
            ]
            context["search_total"] = sum(hits.total for hits in found)
        return context

    context = mailbox.read(load)
    context["search"] = {k: request.GET.get(k, "") for k in [*TEXT_FIELDS, *FLAG_FIELDS, "since", "before"]}
    context["search_scope"] = "all" if everywhere else "folder"
    context["searching"] = True
    return render(request, "mailbox/list_page.html", context)
