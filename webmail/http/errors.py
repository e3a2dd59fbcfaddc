"""Error pages a user can meet: what happened, in words, and the way back.

One renderer serves every 4xx and 5xx: the mail errors the middleware catches
(a folder that does not exist, a message gone, a server down), a message
address that makes no sense, and Django's own 400, 403, 404 and 500 pages
(a CSRF failure renders ``templates/403_csrf.html``, and ``500.html`` is
Django's own fallback should these handlers fail to load). A pane swap
(htmx, not boosted) gets the same words as a fragment for the list or the
reading pane; every other request gets a whole page in the product's look.
Nothing here shows a traceback or technical detail.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.template import loader
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext as _

from webmail.mailaccess.errors import FolderNotFound, MailError, MessageGone, ServerUnavailable

logger = logging.getLogger(__name__)

FULL_PAGE = "shared/error.html"
PANE_FRAGMENT = "shared/partials/error.html"


@dataclass(frozen=True)
class WayBack:
    url: str
    label: str


class NotFoundPage(Http404):
    """A 404 that says in words what was not found."""

    def __init__(self, title: str, message: str) -> None:
        super().__init__(message)
        self.title = title
        self.message = message


def inbox() -> WayBack:
    return WayBack(reverse("mailbox:list"), _("Go to your Inbox"))


def folder_list(folder: str) -> WayBack:
    if not folder or folder == "INBOX":
        return inbox()
    return WayBack(f"{reverse('mailbox:list')}?{urlencode({'folder': folder})}", _("Back to the list"))


def retry(request: HttpRequest) -> WayBack:
    return WayBack(request.get_full_path(), _("Try again"))


def wants_fragment(request: HttpRequest) -> bool:
    """An htmx swap into the list or the pane (a boosted navigation wants a page)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"


def error_response(
    request: HttpRequest,
    *,
    status: int,
    title: str,
    message: str,
    ways: list[WayBack],
    with_request: bool = True,
) -> HttpResponse:
    """``with_request=False`` renders without context processors (the 500 page:
    whatever broke may be what they would touch)."""
    template = PANE_FRAGMENT if wants_fragment(request) else FULL_PAGE
    context = {"title": title, "message": message, "ways": ways, "status": status}
    html = loader.get_template(template).render(context, request if with_request else None)
    return HttpResponse(html, status=status)


def mail_error_response(request: HttpRequest, error: MailError) -> HttpResponse:
    """The page for a mail server's answer (AuthenticationFailed is handled before)."""
    folder = request.GET.get("folder") or request.POST.get("folder") or ""
    if isinstance(error, FolderNotFound):
        return error_response(
            request,
            status=404,
            title=_("Folder not found"),
            message=error.user_message,
            ways=[inbox()],
        )
    if isinstance(error, MessageGone):
        return error_response(
            request,
            status=404,
            title=_("Message not found"),
            message=error.user_message,
            ways=list(dict.fromkeys([folder_list(folder), inbox()])),
        )
    if isinstance(error, ServerUnavailable):
        return error_response(
            request,
            status=503,
            title=_("Your mail is out of reach for a moment"),
            message=error.user_message,
            ways=[retry(request)],
        )
    return error_response(
        request,
        status=502,
        title=_("The mail server could not do this"),
        message=error.user_message,
        ways=[retry(request), inbox()],
    )


# --------------------------------------------------------------------------
# Django's handlers (see webmail/urls.py)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(
        request,
        status=400,
        title=_("This request could not be understood"),
        message=_("The address or the form sent was not valid. Go back and try again."),
        ways=[inbox()],
    )


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(
        request,
        status=403,
        title=_("You cannot open this page"),
        message=_("This page is not available to your account."),
        ways=[inbox()],
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, NotFoundPage):
        title, message = exception.title, exception.message
    else:
        title = _("Page not found")
        message = _("There is nothing at this address. The link may be old or mistyped.")
    return error_response(request, status=404, title=title, message=message, ways=[inbox()])


def server_error(request: HttpRequest) -> HttpResponse:
    try:
        return error_response(
            request,
            status=500,
            title=_("Something went wrong"),
            message=_("An unexpected error happened on our side and has been logged. Please try again."),
            ways=[retry(request), inbox()],
            with_request=False,
        )
    except Exception:  # the error page itself must not fail
        logger.exception("the 500 page could not be rendered")
        title = escape(_("Something went wrong"))
        return HttpResponse(f"<!DOCTYPE html><title>{title}</title><h1>{title}</h1>", status=500)
