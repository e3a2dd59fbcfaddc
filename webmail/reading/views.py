"""Reading a message: the reading pane, the sandboxed HTML body, parts and raw source."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from urllib.parse import urlencode

from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import reverse
from django.utils.html import escape
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from webmail.compose.addresses import learn_sender
from webmail.http.bounds import parse_uid
from webmail.http.decorators import mailbox_required
from webmail.http.errors import NotFoundPage
from webmail.http.signedin import SignedInRequest
from webmail.mailaccess.errors import AuthenticationFailed, FolderNotFound, MailError, ServerUnavailable
from webmail.mailaccess.session import MailSession, Rights, UserMailbox
from webmail.mailaccess.types import FolderRole
from webmail.mailbox.uidsets import MAX_TREE_TEXT, parse_tree
from webmail.messages.choose import attachment_name
from webmail.reading.choices import reading_choices, trusts_sender
from webmail.reading.conversation import open_conversation
from webmail.reading.models import TrustedSender
from webmail.reading.reader import OpenedMessage, html_cache_key, open_message

BODY_CACHE_SECONDS = 120
# Served inline only when the browser cannot turn them into a page of our origin.
INLINE_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "application/pdf"}
)


def _not_for_htmx(request: HttpRequest) -> None:
    """Mail content (parts, raw source, bodies) must never be swapped into our pages as HTML."""
    if getattr(request, "htmx", False):
        raise Http404


# No folder name holds a control character, and none is this long.
_IMPOSSIBLE_FOLDER = re.compile(r"[\x00-\x1f\x7f]|.{1001}", re.S)


def _target(request: HttpRequest) -> tuple[str, int]:
    """The message a URL points at; a 404 that says so when it points at none."""
    folder = request.GET.get("folder") or request.POST.get("folder") or ""
    raw_uid = request.GET.get("uid") or request.POST.get("uid") or ""
    uid = parse_uid(raw_uid)
    if not folder or uid is None:
        raise NotFoundPage(
            _("There is no message at this address"),
            _(
                "The link lacks the message's folder or number, or they are not valid. "
                "Open the message from its folder."
            ),
        )
    if _IMPOSSIBLE_FOLDER.search(folder):
        raise NotFoundPage(_("Folder not found"), str(FolderNotFound.default_message))
    return folder, uid


@require_GET
@mailbox_required
def message_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    """Opening marks the message read (unless the user turned that off): the one GET that writes."""
    folder, uid = _target(request)
    prefs = reading_choices(request.user)
    wants_remote = request.GET.get("remote") == "1"

    def trusted(sender: str) -> bool:
        return trusts_sender(request.user, prefs, sender)

    def load(mail: MailSession) -> tuple[OpenedMessage, Rights]:
        opened = open_message(
            mail,
            folder,
            uid,
            prefer_html=prefs.prefer_html,
            allow_remote=wants_remote,
            mark_read=prefs.mark_read_on_open,
            trusts_sender=trusted,
            cache_scope=cache_scope(mailbox),
        )
        # In someone else's folder the bar offers only what MYRIGHTS allows (RFC 4314).
        shared = mail.namespaces().in_shared(folder)
        return opened, mail.my_rights(folder) if shared else Rights.everything()

    opened, rights = mailbox.read(load)
    learn_sender(request.user, opened.head.envelope, opened.head.flags)  # suggested when writing
    sender, remote = opened.sender, opened.remote
    context = {
        "folder": folder,
        "uid": uid,
        "opened": opened,
        "message": opened.rendered,
        "sender_email": sender,
        "remote": remote,
        "trusted": remote and not wants_remote,
        "previewable": INLINE_TYPES,
        "is_draft": "\\draft" in opened.head.flags,
        "uidvalidity": opened.head.uidvalidity or 0,
        # The list says which special folder this is (no "Archive" in Archive).
        "folder_role": role_param(request),
        "back_url": f"{reverse('mailbox:list')}?{urlencode({'folder': folder})}",
        "rights": rights,
    }
    context["in_conversation"] = request.GET.get("in_conversation") == "1"
    template = "reading/partials/message.html" if request.htmx else "reading/message_page.html"
    return render(request, template, context)


@require_GET
@mailbox_required
def conversation_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    """A conversation stacked in the reading pane (the list's conversation rows open it)."""
    folder, uid = _target(request)
    tree_text = request.GET.get("tree", "")
    if not request.htmx or len(tree_text) > MAX_TREE_TEXT:
        # A page of its own is the newest message's; a link too long is not a conversation we drew.
        return redirect(f"{reverse('reading:message')}?{urlencode({'folder': folder, 'uid': uid})}")
    prefs = reading_choices(request.user)

    def trusted(sender: str) -> bool:
        return trusts_sender(request.user, prefs, sender)

    items = mailbox.read(
        lambda mail: open_conversation(
            mail,
            folder,
            parse_tree(tree_text),
            prefer_html=prefs.prefer_html,
            mark_read=prefs.mark_read_on_open,
            trusts_sender=trusted,
            cache_scope=cache_scope(mailbox),
        )
    )
    for item in items:
        if item.opened is not None:
            learn_sender(request.user, item.opened.head.envelope, item.opened.head.flags)
    latest = items[-1].opened if items else None
    context = {
        "folder": folder,
        "uid": items[-1].uid if items else uid,
        "items": items,
        "latest": latest,
        "folder_role": role_param(request),
        "previewable": INLINE_TYPES,
        "is_draft": False,
    }
    return render(request, "reading/partials/conversation.html", context)


def role_param(request: HttpRequest) -> str:
    role = request.GET.get("role", "")
    return role if role in {r.value for r in FolderRole} else ""


def cache_scope(mailbox: UserMailbox) -> str:
    """Whose cached bodies these are: the mailbox's login at its server."""
    return f"{mailbox.username}@{mailbox.endpoint.label}"


def _body_csp(remote: bool) -> str:
    images = "'self' data: https: http:" if remote else "'self' data:"
    fonts = "https: data:" if remote else "data:"
    return (
        f"default-src 'none'; img-src {images}; style-src 'unsafe-inline'; font-src {fonts}; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'self'; "
        "sandbox allow-popups allow-popups-to-escape-sandbox"
    )


@require_GET
@mailbox_required
def body_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    """One sanitized HTML part as its own document, for the sandboxed iframe."""
    _not_for_htmx(request)
    remote = request.GET.get("remote") == "1"
    try:
        html, status = _body_html(request, mailbox, remote), 200
    except (MailError, Http404) as error:
        if isinstance(error, AuthenticationFailed):
            raise
        # Said inside the frame: a page of the app's own may not be framed.
        status = 503 if isinstance(error, ServerUnavailable) else 404
        message = (
            error.user_message if isinstance(error, MailError) else _("This part of the message is not here.")
        )
        html = f'<p class="notice">{escape(message)}</p>'
    head, tail = _body_document()
    response = HttpResponse(f"{head}{html}{tail}", status=status)
    response["Content-Security-Policy"] = _body_csp(remote)
    response["X-Frame-Options"] = "SAMEORIGIN"  # only our own reading pane may frame it
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    return response  # django-csp leaves a response's own CSP header alone


_BODY_SLOT = "\x00body\x00"  # no template text holds a NUL


@lru_cache(maxsize=1)
def _body_document() -> tuple[str, str]:
    """The frame's document around its body, rendered once: it is the same for every body.

    No context processors: the document is the mail's body alone (no request data, no form).
    Cut at a placeholder rather than rendered per request: the template engine would copy a
    300 KB body through its node list for a few static lines around it.
    """
    document = loader.render_to_string("reading/mail_body.html", {"body": _BODY_SLOT})
    head, slot, tail = document.partition(_BODY_SLOT)
    if not slot or _BODY_SLOT in tail:
        raise ImproperlyConfigured("reading/mail_body.html must show {{ body|safe }} exactly once")
    return head, tail


def _body_html(request: SignedInRequest, mailbox: UserMailbox, remote: bool) -> str:
    folder, uid = _target(request)
    section = request.GET.get("section", "")
    scope = cache_scope(mailbox)
    uidvalidity = parse_uid(request.GET.get("v", "")) or 0
    if uidvalidity:
        # Opened a moment ago by the pane; a wrong "v" only misses (the key holds this mailbox).
        cached = cache.get(html_cache_key(scope, folder, uidvalidity, uid, section, remote))
        if cached is not None:
            return str(cached[0])
    prefs = reading_choices(request.user)

    def load(mail: MailSession) -> OpenedMessage:
        return open_message(
            mail,
            folder,
            uid,
            prefer_html=prefs.prefer_html,
            allow_remote=remote,
            mark_read=False,
            cache_scope=scope,
        )

    opened = mailbox.read(load)
    found = [i for i in opened.rendered.html_items() if i.part.section == section]
    if not found:
        raise Http404
    return found[0].html


@require_GET
@mailbox_required
def part_view(request: SignedInRequest, mailbox: UserMailbox) -> StreamingHttpResponse:
    """Stream one part (attachment, inline image) with partial fetches; memory stays flat."""
    _not_for_htmx(request)
    folder, uid = _target(request)
    section = request.GET.get("section", "")
    head = mailbox.read(lambda mail: mail.head(folder, uid))
    part = head.tree.find(section) if section else None
    if part is None or part.is_multipart:
        raise NotFoundPage(
            _("Attachment not found"),
            _("This message has no such part. Open the message again to see its attachments."),
        )
    name = attachment_name(part)
    inline = request.GET.get("inline") == "1" and part.content_type in INLINE_TYPES
    content_type = part.content_type if inline else _download_type(part.content_type)

    response = StreamingHttpResponse(
        mailbox.part(folder, uid, section, part.encoding), content_type=content_type
    )
    return _download_headers(response, name, inline=inline)


def _download_type(content_type: str) -> str:
    """A download keeps its type unless that type could render as a page of our origin."""
    risky = ("html", "xml", "svg", "javascript", "ecmascript")
    if content_type.startswith("text/") and content_type != "text/plain":
        return "application/octet-stream"
    if any(word in content_type for word in risky):
        return "application/octet-stream"
    return content_type


def _download_headers(response: StreamingHttpResponse, name: str, *, inline: bool) -> StreamingHttpResponse:
    # Never None (that is only for inline without a name, and a name is always given).
    response["Content-Disposition"] = content_disposition_header(not inline, name) or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    if response["Content-Type"].startswith("application/pdf"):
        # Chromium's PDF viewer does not run under a sandbox CSP; PDF scripts run in
        # the viewer's own context, not in our origin.
        # django-csp's flag (read with getattr by its middleware, set so by its csp_exempt
        # decorator): no attribute of Django's response class, so not an assignment mypy accepts.
        setattr(response, "_csp_exempt", True)  # noqa: B010
    else:
        response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response


@require_GET
@mailbox_required
def raw_view(request: SignedInRequest, mailbox: UserMailbox) -> StreamingHttpResponse:
    """The whole message: ``?download=1`` as a .eml file, otherwise its source as plain text."""
    _not_for_htmx(request)
    folder, uid = _target(request)
    head = mailbox.read(lambda mail: mail.head(folder, uid))
    download = request.GET.get("download") == "1"

    def stream() -> Iterator[bytes]:
        with mailbox.session() as mail:
            yield from mail.stream(folder, uid, "")

    subject = head.envelope.subject or "message"
    name = "".join(c if c.isalnum() or c in " -_." else "_" for c in subject).strip()[:80] or "message"
    response = StreamingHttpResponse(
        stream(), content_type="message/rfc822" if download else "text/plain; charset=utf-8"
    )
    return _download_headers(response, f"{name}.eml", inline=not download)


@require_POST
@mailbox_required
def seen_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    folder, uid = _target(request)
    seen = request.POST.get("seen") == "1"
    with mailbox.session() as mail:
        mail.set_seen(folder, uid, seen)
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Trigger"] = "mail-flags-changed"
        return response
    return redirect(f"{reverse('mailbox:list')}?{urlencode({'folder': folder})}")


@require_POST
@mailbox_required
def trust_sender_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    """ "Always show remote content from this sender"."""
    folder, uid = _target(request)
    head = mailbox.read(lambda mail: mail.head(folder, uid))
    senders = head.envelope.from_
    if senders and senders[0].email:
        TrustedSender.objects.get_or_create(user=request.user, email=senders[0].email.lower())
    return redirect(f"{reverse('reading:message')}?{urlencode({'folder': folder, 'uid': uid})}")
