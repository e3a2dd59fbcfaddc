"""Writing mail: new, reply, reply-all, forward (inline or as an attachment), drafts."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from accounts.identities import Identity
from webmail.compose import prefill
from webmail.compose.addresses import display, remember, suggest
from webmail.compose.build import Attachment, Draft, InvalidMessage, parse_addresses
from webmail.compose.service import ANSWERED, FORWARDED, Origin, save_draft, send_draft
from webmail.mailaccess.errors import MailError
from webmail.mailbox import UserMailbox
from webmail.messages.decode import Address
from webmail.sanitize import sanitize_html
from webmail.sendas.choose import default_identity, pick_identity
from webmail.sendas.routes import route_for

from .decorators import mailbox_required

ORIGIN_MODES = ("reply", "reply-all", "forward", "forward-attached")


class IdentityField(forms.TypedChoiceField):
    """Offers the usable identities, and also accepts the user's own withdrawn ones.

    An address disabled (or its domain withdrawn) after the page loaded must not fail as
    "not a valid choice" with the message lost: the send fails in words and keeps a draft.
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.withdrawn: set[str] = set()

    def valid_value(self, value: object) -> bool:
        return str(value) in self.withdrawn or super().valid_value(value)


class ComposeForm(forms.Form):
    identity = IdentityField(label=gettext_lazy("From"), coerce=int, required=False, choices=())
    to = forms.CharField(label=gettext_lazy("To"), required=False, max_length=5000)
    cc = forms.CharField(label=gettext_lazy("Cc"), required=False, max_length=5000)
    bcc = forms.CharField(label=gettext_lazy("Bcc"), required=False, max_length=5000)
    subject = forms.CharField(label=gettext_lazy("Subject"), required=False, max_length=998)
    text = forms.CharField(label=gettext_lazy("Message"), required=False, widget=forms.Textarea)
    # Filled by the rich-text editor (static/js/compose.js); sanitized like any mail HTML.
    html = forms.CharField(required=False, widget=forms.HiddenInput)
    in_reply_to = forms.CharField(required=False, widget=forms.HiddenInput)
    references = forms.CharField(required=False, widget=forms.HiddenInput)
    draft_uid = forms.IntegerField(required=False, widget=forms.HiddenInput)
    origin = forms.CharField(required=False, widget=forms.HiddenInput)  # "kind:uid:folder"

    def __init__(
        self,
        *args: object,
        identities: list[Identity],
        email: str,
        withdrawn: list[Identity] | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # Only usable identities are choices: another user's id is "not one of the available choices".
        # The user's own withdrawn ones are accepted; sending then refuses them (send_draft).
        self.identities = {i.pk: i for i in [*identities, *(withdrawn or [])]}
        self.fields["identity"].withdrawn = {str(i.pk) for i in withdrawn or []}
        choices = [(i.pk, display(i.display_name, i.address(email))) for i in identities]
        if not any(i.is_own_address for i in identities):
            choices.insert(0, (0, email))  # the account's own address is always offered
        self.fields["identity"].choices = choices
        for name in ("to", "cc", "bcc"):
            self.fields[name].widget.attrs.update({"list": "address-suggestions", "autocomplete": "off"})

    @property
    def signatures(self) -> dict[str, str]:
        """Each From choice's signature, so the page can swap it when the From changes."""
        own = next((i for i in self.identities.values() if i.is_own_address), None)
        out = {"0": own.signature.strip() if own else ""}
        out.update({str(pk): i.signature.strip() for pk, i in self.identities.items()})
        return out

    def chosen_identity(self) -> Identity | None:
        return self.identities.get(self.cleaned_data.get("identity") or 0)

    def sender(self, email: str) -> str:
        identity = self.chosen_identity()
        return display(identity.display_name, identity.address(email)) if identity else email


def _max_attachment_bytes() -> int:
    return settings.WEBMAIL_MAX_ATTACHMENT_MB * 1024 * 1024


def _identities(request: HttpRequest) -> list[Identity]:
    return list(Identity.objects.usable().filter(user=request.user))


def _withdrawn(request: HttpRequest, usable: list[Identity]) -> list[Identity]:
    """The user's other addresses that cannot send (unconfirmed or disabled)."""
    mine = Identity.objects.filter(user=request.user).exclude(email="")
    return list(mine.exclude(pk__in=[i.pk for i in usable]))


def _with_signature(text: str, identity: Identity | None) -> str:
    if identity is None or not identity.signature.strip():
        return text
    return f"\n\n-- \n{identity.signature.strip()}{text}"


def _initial(request: HttpRequest, mailbox: UserMailbox) -> dict[str, object]:
    folder = request.GET.get("folder", "INBOX")
    try:
        uid = int(request.GET.get("uid", "0"))
    except ValueError:
        uid = 0
    mode = request.GET.get("mode", "")
    identities = _identities(request)
    if not uid or mode not in (*ORIGIN_MODES, "draft"):
        chosen = default_identity(identities)
        return {
            "to": request.GET.get("to", ""),
            "text": _with_signature("", chosen),
            "identity": chosen.pk if chosen else 0,
        }
    with mailbox.connection() as client:
        if mode == "forward":
            start = prefill.forward(client, folder, uid)
        elif mode == "forward-attached":
            start = prefill.forward_as_attachment(client, folder, uid)
        elif mode == "draft":
            start = prefill.resume_draft(client, folder, uid)
        else:
            start = prefill.reply(
                client,
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
    return initial


def _origin(value: str) -> tuple[str, int, str] | None:
    mode, _sep, rest = value.partition(":")
    uid_text, _sep, folder = rest.partition(":")
    if mode not in ORIGIN_MODES or not uid_text.isdigit() or not folder:
        return None
    return mode, int(uid_text), folder


def _attachments(
    request: HttpRequest, mailbox: UserMailbox, origin: tuple[str, int, str] | None
) -> list[Attachment]:
    files = request.FILES.getlist("attachments")
    total = sum(f.size or 0 for f in files)
    if total > _max_attachment_bytes():
        raise InvalidMessage(
            _("Attachments may total at most %(size)d MB.") % {"size": settings.WEBMAIL_MAX_ATTACHMENT_MB}
        )
    out = [
        Attachment(f.name or "attachment", f.content_type or "application/octet-stream", f.read())
        for f in files
    ]
    # Forwarded content travels server-side: nothing is downloaded and re-uploaded.
    if origin and origin[0] == "forward":
        _mode, uid, folder = origin
        with mailbox.connection() as client:
            out += prefill.original_attachments(client, folder, uid, limit=_max_attachment_bytes() - total)
    elif origin and origin[0] == "forward-attached":
        _mode, uid, folder = origin
        with mailbox.connection() as client:
            out.append(prefill.forwarded_original(client, folder, uid, limit=_max_attachment_bytes() - total))
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


@require_GET
@login_required
def addresses_view(request: HttpRequest) -> JsonResponse:
    """Completions for the address being typed (the last one in the field)."""
    return JsonResponse({"suggestions": suggest(request.user, request.GET.get("q", "")[:200])})


@require_http_methods(["GET", "POST"])
@mailbox_required
def compose_view(request: HttpRequest, mailbox: UserMailbox) -> HttpResponse:
    identities = _identities(request)
    form_kwargs = {"identities": identities, "email": mailbox.username}
    if request.method == "GET":
        form = ComposeForm(initial=_initial(request, mailbox), **form_kwargs)
        return render(request, "webmail/compose.html", {"form": form})
    form_kwargs["withdrawn"] = _withdrawn(request, identities)
    form = ComposeForm(request.POST, **form_kwargs)
    if not form.is_valid():
        return render(request, "webmail/compose.html", {"form": form}, status=400)
    data = form.cleaned_data
    origin = _origin(data["origin"] or "")
    try:
        draft = Draft(
            sender=form.sender(mailbox.username),
            to=data["to"],
            cc=data["cc"],
            bcc=data["bcc"],
            subject=data["subject"],
            text=data["text"],
            html=_clean_html(data["html"]),
            attachments=tuple(_attachments(request, mailbox, origin)),
            in_reply_to=data["in_reply_to"] or None,
            references=tuple(data["references"].split()),
        )
        if request.POST.get("action") == "save":
            uid = save_draft(mailbox, draft, replaces=data["draft_uid"])
            if request.headers.get("X-Autosave") == "1":
                return JsonResponse({"draft_uid": uid, "saved": True})
            messages.success(request, _("Draft saved."))
            return redirect(
                f"{reverse('compose')}?{urlencode({'mode': 'draft', 'folder': 'Drafts', 'uid': uid})}"
            )
        account = request.user.mail_account  # type: ignore[union-attr]
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
        form.add_error(None, str(exc))
        return render(request, "webmail/compose.html", {"form": form}, status=400)
    except MailError as exc:
        form.add_error(None, exc.user_message)
        return render(request, "webmail/compose.html", {"form": form}, status=502)
    if not outcome.sent:
        kept = request.POST.copy()
        kept["draft_uid"] = str(outcome.draft_uid or "")  # later saves replace this copy
        form = ComposeForm(kept, **form_kwargs)
        form.is_valid()
        form.add_error(
            None, _("Not sent: %(reason)s Your message was kept in Drafts.") % {"reason": outcome.error}
        )
        return render(request, "webmail/compose.html", {"form": form}, status=502)
    remember(request.user, _typed_addresses(draft))  # type: ignore[arg-type]
    if outcome.refused:
        messages.warning(
            request, _("Sent, but refused for: %(who)s") % {"who": ", ".join(sorted(outcome.refused))}
        )
    else:
        messages.success(request, _("Message sent."))
    return redirect("mailbox")
