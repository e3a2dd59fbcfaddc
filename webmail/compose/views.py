"""Writing mail: new, reply, reply-all, forward (inline or as an attachment), drafts."""

from __future__ import annotations

import json
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from webmail.compose import attachments, prefill, staging, upload_limit
from webmail.compose.addresses import remember, suggest
from webmail.compose.build import (
    MAX_ADDRESS_FIELDS_CHARS,
    Attachment,
    Draft,
    InvalidMessage,
    parse_addresses,
)
from webmail.compose.forms import MAX_FOLDER_CHARS, ORIGIN_MODES, ComposeForm, ComposeFormArgs
from webmail.compose.service import ANSWERED, FORWARDED, Origin, save_draft, send_draft
from webmail.compose.staging import MAX_ATTACHMENTS, Staged
from webmail.http.decorators import View, mailbox_required
from webmail.http.signedin import SignedInRequest
from webmail.mailaccess.errors import MailboxFull, MailError
from webmail.mailaccess.session import UserMailbox
from webmail.messages.decode import Address
from webmail.sanitize import sanitize_html
from webmail.sendas.models import Identity
from webmail.sendas.reply_from import default_identity, pick_identity
from webmail.sendas.route_choice import route_for


def _identities(request: SignedInRequest) -> list[Identity]:
    return list(Identity.objects.usable().filter(user=request.user))


def _withdrawn(request: SignedInRequest, usable: list[Identity]) -> list[Identity]:
    """The user's other addresses that cannot send (unconfirmed or disabled)."""
    mine = Identity.objects.filter(user=request.user).exclude(email="")
    return list(mine.exclude(pk__in=[i.pk for i in usable]))


def _with_signature(text: str, identity: Identity | None) -> str:
    if identity is None or not identity.signature.strip():
        return text
    return f"\n\n-- \n{identity.signature.strip()}{text}"


def _initial(
    request: SignedInRequest, mailbox: UserMailbox
) -> tuple[dict[str, object], attachments.Collected]:
    """The form's starting values, and the attachments it starts with (a resumed draft's)."""
    folder = request.GET.get("folder", "INBOX")
    uid_text = request.GET.get("uid", "0")
    uid = int(uid_text) if uid_text.isdigit() and len(uid_text) <= 10 else 0
    mode = request.GET.get("mode", "")
    identities = _identities(request)
    kept = attachments.Collected()
    if not uid or uid >= 2**32 or mode not in (*ORIGIN_MODES, "draft") or len(folder) > MAX_FOLDER_CHARS:
        chosen = default_identity(identities)
        return {
            "to": request.GET.get("to", "")[:MAX_ADDRESS_FIELDS_CHARS],
            "text": _with_signature("", chosen),
            "identity": chosen.pk if chosen else 0,
        }, kept
    with mailbox.session() as mail:
        if mode == "forward":
            start = prefill.forward(mail, folder, uid)
        elif mode == "forward-attached":
            start = prefill.forward_as_attachment(mail, folder, uid)
        elif mode == "draft":
            start = prefill.resume_draft(mail, folder, uid)
            kept = attachments.stage_from_message(mail, request.user.pk, folder, uid)
        else:
            start = prefill.reply(
                mail,
                folder,
                uid,
                me=mailbox.username,
                to_all=mode == "reply-all",
                also_me=[i.email for i in identities if i.email],
            )
    # A reply starts from the address the original was sent to (a draft, from its own From).
    chosen = pick_identity(identities, mailbox.username, start.addressed_to)
    initial: dict[str, object] = {
        "to": start.to,
        "cc": start.cc,
        "bcc": start.bcc,
        "subject": start.subject,
        "text": start.text,
        "in_reply_to": start.in_reply_to,
        "references": " ".join(start.references),
        "identity": chosen.pk if chosen else 0,
    }
    if mode == "draft":
        initial["draft_uid"] = uid
    else:
        initial["origin"] = f"{mode}:{uid}:{folder}"
        initial["text"] = _with_signature(start.text, chosen)
    return initial, kept


def _origin(value: str) -> tuple[str, int, str] | None:
    mode, _sep, rest = value.partition(":")
    uid_text, _sep, folder = rest.partition(":")
    if mode not in ORIGIN_MODES or not uid_text.isdigit() or len(uid_text) > 10 or not folder:
        return None
    if not 0 < int(uid_text) < 2**32 or len(folder) > MAX_FOLDER_CHARS:
        return None
    return mode, int(uid_text), folder


def _attachments(
    request: SignedInRequest, mailbox: UserMailbox, staged: list[Staged], origin: tuple[str, int, str] | None
) -> list[Attachment]:
    out = attachments.load(request.user.pk, staged)
    room = staging.max_message_bytes() - sum(s.size for s in staged)
    # Forwarded content travels server-side: nothing is downloaded and re-uploaded.
    if origin and origin[0] == "forward":
        _mode, uid, folder = origin
        with mailbox.session() as mail:
            out += prefill.original_attachments(mail, folder, uid, limit=room)
    elif origin and origin[0] == "forward-attached":
        _mode, uid, folder = origin
        with mailbox.session() as mail:
            out.append(prefill.forwarded_original(mail, folder, uid, limit=room))
    return out


def _clean_html(html: str) -> str | None:
    """The editor's HTML through the same sanitizer as incoming mail (no scripts, no remote tricks)."""
    if not html.strip():
        return None
    return sanitize_html(html, cid_url=lambda _cid: None, allow_remote=True).html


def _typed_addresses(draft: Draft) -> list[Address]:
    out = []
    for value in (draft.to, draft.cc, draft.bcc):
        out += [Address(a.display_name, a.addr_spec) for a in parse_addresses(value, field_name="")]
    return out


MAX_SUGGEST_QUERY_CHARS = 100


@require_GET
@login_required
def addresses_view(request: SignedInRequest) -> JsonResponse:
    """Completions for the address being typed (the last one in the field)."""
    query = request.GET.get("q", "")
    if len(query) > MAX_SUGGEST_QUERY_CHARS:  # nobody types that much of one address
        return JsonResponse({"suggestions": []})
    return JsonResponse({"suggestions": suggest(request.user, query)})


def _page(
    request: SignedInRequest, form: ComposeForm, staged: list[Staged], *, status: int = 200
) -> HttpResponse:
    context = {
        "form": form,
        "hidden_errors": form.is_bound and any(f.errors for f in form.hidden_fields()),
        "staged": staged,
        "max_attachment_bytes": staging.max_message_bytes(),
        "max_attachment_mb": attachments.limit_mb(),
        "max_attachments": MAX_ATTACHMENTS,
        "compose_mode": compose_mode(request, form),
    }
    # The compose panel over the mailbox asks for the form alone.
    template = "compose/partials/form.html" if request.htmx else "compose/compose.html"
    return render(request, template, context, status=status)


def compose_mode(request: SignedInRequest, form: ComposeForm) -> str:
    """What is being written (where the cursor starts): "new", a reply, a forward or a draft."""
    mode = request.GET.get("mode", "")
    if mode in (*ORIGIN_MODES, "draft"):
        return mode
    origin = str(form["origin"].value() or "")
    return origin.partition(":")[0] if origin.partition(":")[0] in ORIGIN_MODES else "new"


def _panel_done(text: str, level: str, **headers: str) -> HttpResponse:
    """The compose panel's answer once the message is sent or saved: no page, a notice."""
    response = HttpResponse(status=204)
    response["HX-Trigger"] = json.dumps({"webmail:notice": {"text": text, "level": level}})
    for name, value in headers.items():
        response[name] = value
    return response


def _with_upload_budget(view: View) -> View:
    """Installs the attachment budget before the request body is read.

    Django reads the body (for the CSRF token) before the view unless the view is
    csrf_exempt; the check is then made by csrf_protect, after the handler is in.
    """

    @wraps(view)
    def wrapper(request: upload_limit.BudgetedRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        if request.method == "POST":
            request.attachment_budget = upload_limit.install(
                request, max_bytes=staging.max_message_bytes(), max_files=MAX_ATTACHMENTS
            )
        return csrf_protect(view)(request, *args, **kwargs)

    return csrf_exempt(wrapper)


@_with_upload_budget
@require_http_methods(["GET", "POST"])
@mailbox_required
def compose_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    identities = _identities(request)
    form_kwargs: ComposeFormArgs = {"identities": identities, "email": mailbox.username}
    if request.method == "GET":
        initial, kept = _initial(request, mailbox)
        for error in kept.errors:
            messages.warning(request, error)
        return _page(request, ComposeForm(initial=initial, **form_kwargs), kept.staged)
    form_kwargs["withdrawn"] = _withdrawn(request, identities)
    form = ComposeForm(request.POST, **form_kwargs)
    # Every file chosen is kept server-side first: whatever is wrong with the form, none is lost.
    kept = attachments.collect(request, request.user.pk, getattr(request, "attachment_budget", None))
    valid = form.is_valid()
    for error in kept.errors:
        form.add_error(None, error)
    if kept.errors or not valid:
        return _page(request, form, kept.staged, status=400)
    data = form.cleaned_data
    origin = _origin(data["origin"] or "")
    autosave = request.headers.get("X-Autosave") == "1"
    try:
        draft = Draft(
            sender=form.sender(mailbox.username),
            to=data["to"],
            cc=data["cc"],
            bcc=data["bcc"],
            subject=data["subject"],
            text=data["text"],
            html=_clean_html(data["html"]),
            attachments=tuple(_attachments(request, mailbox, kept.staged, origin)),
            in_reply_to=data["in_reply_to"] or None,
            references=tuple(data["references"].split()),
        )
        if request.POST.get("action") == "save":
            uid = save_draft(mailbox, draft, replaces=data["draft_uid"])
            if autosave:
                return JsonResponse({"draft_uid": uid, "saved": True})
            # The draft holds the files now; opening it stages them again.
            staging.discard(request.user.pk, [s.token for s in kept.staged])
            if request.htmx:
                return _panel_done(_("Draft saved."), "success", **{"X-Draft-Uid": str(uid)})
            messages.success(request, _("Draft saved."))
            return redirect(
                f"{reverse('compose:write')}?{urlencode({'mode': 'draft', 'folder': 'Drafts', 'uid': uid})}"
            )
        account = request.user.mail_account
        identity = form.chosen_identity()
        outcome = send_draft(
            mailbox,
            # Resolved inside send_draft: an address withdrawn since the page loaded keeps a draft.
            lambda: route_for(identity, account=account, mailbox=mailbox),
            draft,
            origin=Origin(origin[2], origin[1], FORWARDED if origin[0].startswith("forward") else ANSWERED)
            if origin
            else None,
            draft_uid=data["draft_uid"],
        )
    except InvalidMessage as exc:
        if autosave:
            # A draft that cannot be saved yet (a half-typed address) is no failure of the
            # request: the page keeps it and says why.
            return JsonResponse({"saved": False, "error": str(exc)})
        form.add_error(None, str(exc))
        return _page(request, form, kept.staged, status=400)
    except MailError as exc:
        reason = exc.user_message
        if isinstance(exc, MailboxFull) and request.POST.get("action") == "save":
            reason = _(
                "The draft could not be saved: your mailbox is full. Your message is still here; "
                "delete some messages or empty the Trash, then save again."
            )
        if autosave:
            return JsonResponse({"saved": False, "error": str(reason)})
        form.add_error(None, reason)
        return _page(request, form, kept.staged, status=502)
    if not outcome.sent:
        kept_post = request.POST.copy()
        kept_post["draft_uid"] = str(outcome.draft_uid or "")  # later saves replace this copy
        form = ComposeForm(kept_post, **form_kwargs)
        form.is_valid()
        form.add_error(
            None, _("Not sent: %(reason)s Your message was kept in Drafts.") % {"reason": outcome.error}
        )
        return _page(request, form, kept.staged, status=502)
    staging.discard(request.user.pk, [s.token for s in kept.staged])
    remember(request.user, _typed_addresses(draft))
    if outcome.sent_copy_error:
        text, level = (
            _("Message sent, but no copy could be kept in Sent: %(reason)s")
            % {"reason": outcome.sent_copy_error},
            "warning",
        )
    elif outcome.refused:
        text, level = (
            _("Sent, but refused for: %(who)s") % {"who": ", ".join(sorted(outcome.refused))},
            "warning",
        )
    else:
        text, level = _("Message sent."), "success"
    if request.htmx:
        return _panel_done(text, level)
    messages.add_message(request, messages.WARNING if level == "warning" else messages.SUCCESS, text)
    return redirect("mailbox:list")


@_with_upload_budget
@require_POST
@login_required
def upload_view(request: SignedInRequest) -> JsonResponse:
    """One attachment, uploaded when it is chosen; the page lists it and the form carries its token.

    ``staged``: the tokens the form already carries, so the limits count them.
    """
    budget = getattr(request, "attachment_budget", None)
    kept = attachments.collect(request, request.user.pk, budget, report_missing=False)
    tokens = set(request.POST.getlist("staged"))
    new = [s for s in kept.staged if s.token not in tokens]
    if kept.errors:
        staging.discard(request.user.pk, [s.token for s in new])  # not attached: not kept either
        return JsonResponse({"error": " ".join(kept.errors)}, status=400)
    if not new:
        return JsonResponse({"error": _("No file was received.")}, status=400)
    (staged,) = new[-1:]
    return JsonResponse({"token": staged.token, "name": staged.name, "size": staged.size})


@require_POST
@login_required
def discard_view(request: SignedInRequest) -> JsonResponse:
    """ "Remove" on the page: the file is deleted at once (only ever from this user's own uploads)."""
    staging.discard(request.user.pk, request.POST.getlist("token")[:MAX_ATTACHMENTS])
    return JsonResponse({"removed": True})
