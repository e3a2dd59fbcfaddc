"""Settings, "Send mail as". Thin views: parse, call an action, render.

Every view looks the identity up with ``user=request.user``: another user's id is a 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from webmail.http.decorators import mailbox_required
from webmail.http.signedin import SignedInRequest
from webmail.http.siteurl import absolute_url
from webmail.imports.models import ExternalAccount
from webmail.mailaccess.errors import MailError
from webmail.mailaccess.session import UserMailbox

from . import actions
from .actions import Verified
from .forms import SendAsForm, SignatureForm, initial_from_external
from .models import Identity
from .route_choice import IdentityDisabled


def _own(request: SignedInRequest, pk: int) -> Identity:
    return get_object_or_404(Identity, pk=pk, user=request.user)


def _link_for(request: HttpRequest) -> actions.LinkFor:
    def link(identity: Identity, token: str) -> str:
        # The configured address, never the request's Host header: this link goes out by mail.
        return absolute_url(reverse("sendas:verify_link", args=[identity.pk, token]))

    return link


@sensitive_post_parameters("password")
@mailbox_required
@require_http_methods(["GET", "POST"])
def identity_add_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    initial: dict[str, Any] = {}
    source = request.GET.get("from", "")
    if source.isdigit():
        account = get_object_or_404(ExternalAccount, pk=int(source), user=request.user)
        initial = initial_from_external(account)
    return _edit(request, mailbox, Identity(user=request.user), initial)


@sensitive_post_parameters("password")
@mailbox_required
@require_http_methods(["GET", "POST"])
def identity_edit_view(request: SignedInRequest, mailbox: UserMailbox, pk: int) -> HttpResponse:
    identity = get_object_or_404(Identity, pk=pk, user=request.user, email__gt="")
    return _edit(request, mailbox, identity, {})


def _edit(
    request: SignedInRequest, mailbox: UserMailbox, identity: Identity, initial: dict[str, Any]
) -> HttpResponse:
    adding = identity.pk is None
    account = request.user.mail_account
    form = SendAsForm(
        request.POST or None,
        instance=identity,
        initial=initial,
        user=request.user,
        own_email=account.email,
        server=account.server,
    )
    if request.method == "POST" and form.is_valid():
        try:
            actions.identity_save(
                user=request.user,
                identity=form.instance,
                password=form.cleaned_data["password"],
                client_ip=mailbox.client_ip,
            )
        except MailError as exc:
            form.add_error(None, exc.user_message)
        else:
            if adding:
                _send_verification(request, mailbox, form.instance)
            else:
                messages.success(request, _("Saved."))
            if form.insecure and form.instance.route == Identity.Route.EXTERNAL:
                messages.warning(
                    request,
                    _(
                        "Mail from %(address)s goes to %(host)s without encryption: your password and "
                        "your mail can be read on the way."
                    )
                    % {"address": form.instance.email, "host": form.instance.smtp_host},
                )
            return redirect("preferences:identities")
    context = {"form": form, "adding": adding, "identity": identity}
    return render(request, "sendas/form.html", context, status=400 if form.errors else 200)


def _send_verification(request: SignedInRequest, mailbox: UserMailbox, identity: Identity) -> None:
    try:
        actions.verification_send(identity=identity, mailbox=mailbox, link_for=_link_for(request))
    except MailError as exc:
        messages.error(
            request,
            _("The confirmation message to %(address)s could not be sent: %(reason)s")
            % {"address": identity.email, "reason": exc.user_message},
        )
    else:
        messages.success(
            request,
            _(
                "We sent a confirmation message to %(address)s. Open its link, or type its code here, "
                "to start sending as this address."
            )
            % {"address": identity.email},
        )


@mailbox_required
@require_POST
def identity_resend_view(request: SignedInRequest, mailbox: UserMailbox, pk: int) -> HttpResponse:
    identity = _own(request, pk)
    if identity.verified:
        return redirect("preferences:identities")
    if not identity.enabled:
        messages.error(request, IdentityDisabled().user_message)
    elif not actions.may_resend(identity):
        messages.error(request, _("A confirmation message was just sent; please wait a minute."))
    else:
        _send_verification(request, mailbox, identity)
    return redirect("preferences:identities")


@login_required
@require_GET
def identity_verify_link_view(request: SignedInRequest, pk: int, token: str) -> HttpResponse:
    # Signed in as the identity's owner only: a link forwarded to someone else proves nothing.
    identity = _own(request, pk)
    result = actions.verify_token(identity=identity, token=token)
    status = 200 if result == Verified.YES else 400
    return render(
        request, "sendas/verified.html", {"identity": identity, "result": result.value}, status=status
    )


@login_required
@require_POST
def identity_verify_code_view(request: SignedInRequest, pk: int) -> HttpResponse:
    identity = _own(request, pk)
    result = actions.verify_code(identity=identity, code=request.POST.get("code", "")[:40])
    if result == Verified.YES:
        messages.success(
            request, _("%(address)s is confirmed: you can now send as it.") % {"address": identity.email}
        )
    elif result == Verified.WRONG:
        messages.error(request, _("That code is not right. Check the confirmation message and try again."))
    elif result == Verified.DISABLED:
        messages.error(request, IdentityDisabled().user_message)
    else:
        messages.error(
            request, _("That code has expired or was tried too often. Send a new confirmation message.")
        )
    return redirect("preferences:identities")


@login_required
@require_POST
def signature_add_view(request: SignedInRequest) -> HttpResponse:
    form = SignatureForm(request.POST)
    if form.is_valid():
        with transaction.atomic():
            identity = form.save(commit=False)
            identity.user = request.user
            if identity.is_default or not Identity.objects.filter(user=request.user).exists():
                Identity.objects.filter(user=request.user).update(is_default=False)
                identity.is_default = True
            identity.save()
        messages.success(request, _("Identity added."))
    else:
        messages.error(
            request, _("The identity could not be saved: %(errors)s") % {"errors": form.errors.as_text()}
        )
    return redirect("preferences:identities")


@login_required
@require_POST
def identity_delete_view(request: SignedInRequest, pk: int) -> HttpResponse:
    get_object_or_404(Identity, pk=pk, user=request.user).delete()  # another user's id: 404
    return redirect("preferences:identities")
