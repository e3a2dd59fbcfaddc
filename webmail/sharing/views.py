"""Settings, Sharing: who may see which of the user's folders, and the sharing dialog of one folder."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from webmail.http.bounds import folder_param
from webmail.http.decorators import mailbox_required
from webmail.http.signedin import SignedInRequest
from webmail.mailaccess.errors import InvalidShareAddress, MailError
from webmail.mailaccess.session import UserMailbox

from . import services
from .levels import CHOICES, LABELS, Level


def _folder_url(folder: str) -> str:
    return f"{reverse('sharing:folder')}?{urlencode({'folder': folder})}"


@require_http_methods(["GET", "POST"])
@mailbox_required
def index_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    if request.method == "POST":
        return _post(request, mailbox, back=reverse("sharing:index"))
    if not services.sharing_available(mailbox):
        return render(request, "sharing/index.html", {"unavailable": True})
    folders, shared = services.shared_folders(mailbox)
    return render(
        request,
        "sharing/index.html",
        {
            "folders": folders,
            "shared": shared,
            "people": services.people_with_access(shared),
            "levels": CHOICES,
            "form_values": request.GET,
        },
    )


@require_http_methods(["GET", "POST"])
@mailbox_required
def folder_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    """The sharing dialog of one folder: with whom, at which level; add, change, withdraw."""
    folder = folder_param(request.GET.get("folder") or request.POST.get("folder"), default="INBOX")
    if request.method == "POST":
        return _post(request, mailbox, back=_folder_url(folder))
    if not services.sharing_available(mailbox):
        return render(request, "sharing/index.html", {"unavailable": True})
    try:
        grants = services.folder_grants(mailbox, folder)
    except MailError as exc:
        messages.error(request, exc.user_message)
        return redirect("sharing:index")
    return render(request, "sharing/folder.html", {"folder": folder, "grants": grants, "levels": CHOICES})


def _post(request: SignedInRequest, mailbox: UserMailbox, *, back: str) -> HttpResponse:
    op = request.POST.get("op", "")
    if op in ("share_all", "withdraw_all"):
        return _post_whole_mailbox(request, mailbox, op=op, back=back)
    folder = folder_param(request.POST.get("folder"))
    address = request.POST.get("address", "")[:254]
    if not folder or op not in ("share", "withdraw"):
        messages.error(request, _("This action is not possible."))
        return redirect(back)
    try:
        if op == "withdraw":
            services.withdraw_share(mailbox, folder=folder, address=address)
            messages.success(
                request,
                _("%(who)s can no longer see “%(folder)s”.") % {"who": address, "folder": folder},
            )
        else:
            try:
                level = Level(request.POST.get("level", ""))
            except ValueError:
                messages.error(request, _("Choose what they may do."))
                return redirect(back)
            services.share_folder(mailbox, folder=folder, address=address, level=level)
            messages.success(
                request,
                _("“%(folder)s” is shared with %(who)s: %(level)s.")
                % {"folder": folder, "who": address.strip().lower(), "level": LABELS[level]},
            )
    except MailError as exc:
        messages.error(request, exc.user_message)
    return redirect(back)


def _post_whole_mailbox(
    request: SignedInRequest, mailbox: UserMailbox, *, op: str, back: str
) -> HttpResponse:
    """Share every folder with one address, or withdraw every folder from it: one action each."""
    address = request.POST.get("address", "")[:254].strip()
    try:
        if op == "withdraw_all":
            result = services.withdraw_whole_mailbox(mailbox, address=address)
            done = ngettext(
                "%(who)s can no longer see your folders (%(count)d folder changed).",
                "%(who)s can no longer see your folders (%(count)d folders changed).",
                result.changed,
            ) % {"who": address, "count": result.changed}
        else:
            try:
                level = Level(request.POST.get("level", ""))
            except ValueError:
                messages.error(request, _("Choose what they may do."))
                return redirect(back)
            result = services.share_whole_mailbox(mailbox, address=address, level=level)
            done = ngettext(
                "Your whole mailbox (%(count)d folder) is shared with %(who)s: %(level)s.",
                "Your whole mailbox (%(count)d folders) is shared with %(who)s: %(level)s.",
                result.changed,
            ) % {"count": result.changed, "who": address.lower(), "level": LABELS[level]}
    except InvalidShareAddress as exc:
        messages.error(request, exc.user_message)
        return redirect(back)
    except MailError as exc:
        messages.error(
            request,
            _("%(reason)s Some folders may have been changed already; doing it again is safe.")
            % {"reason": exc.user_message},
        )
        return redirect(back)
    if result.changed:
        messages.success(request, done)
    for refusal in result.refused:
        messages.error(
            request,
            _("“%(folder)s” was not changed: %(reason)s")
            % {"folder": refusal.folder, "reason": refusal.reason},
        )
    return redirect(back)
