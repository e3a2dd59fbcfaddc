"""Settings, "Check mail from other accounts". Thin views: parse, call an action, render.

Every view looks the account up with ``user=request.user``: another user's id is a 404.
"""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from webmail.http.decorators import mailbox_required
from webmail.http.signedin import SignedInRequest
from webmail.mailaccess.errors import MailError
from webmail.mailaccess.session import UserMailbox

from . import actions, oauth
from .forms import ExternalAccountForm
from .models import ArchiveUpload, ExternalAccount, OAuthProvider
from .selectors import account_statuses, poll_seconds


def _statuses(request: SignedInRequest) -> dict[str, object]:
    statuses = account_statuses(request.user)
    return {"statuses": statuses, "poll_seconds": poll_seconds(statuses)}


def _own(request: SignedInRequest, pk: int) -> ExternalAccount:
    return get_object_or_404(ExternalAccount, pk=pk, user=request.user)


def _own_mail_account(request: SignedInRequest, pk: int) -> ExternalAccount:
    """An account with settings to edit (not the archive account: its uploads are its settings)."""
    return get_object_or_404(
        ExternalAccount.objects.exclude(protocol=ExternalAccount.Protocol.ARCHIVE), pk=pk, user=request.user
    )


@mailbox_required
@require_GET
def account_list_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    # The user is here with their password: keep the stored one current for the worker.
    actions.refresh_mailbox_password(user=request.user, mailbox_password=mailbox.password)
    return _to_providers(
        render(request, "imports/accounts.html", _statuses(request)), oauth.enabled_providers()
    )


@login_required
@require_GET
def account_status_view(request: SignedInRequest) -> HttpResponse:
    """The status part alone, polled by htmx while the page is open."""
    return render(request, "imports/_status_list.html", _statuses(request))


@sensitive_post_parameters("password")
@mailbox_required
@require_http_methods(["GET", "POST"])
def account_add_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    return _edit(request, mailbox, ExternalAccount(user=request.user))


@sensitive_post_parameters("password")
@mailbox_required
@require_http_methods(["GET", "POST"])
def account_edit_view(request: SignedInRequest, mailbox: UserMailbox, pk: int) -> HttpResponse:
    return _edit(request, mailbox, _own_mail_account(request, pk))


def _edit(request: SignedInRequest, mailbox: UserMailbox, account: ExternalAccount) -> HttpResponse:
    adding = account.pk is None
    providers = oauth.enabled_providers()
    # "Connect with …": the settings are checked, then the user signs in at the provider.
    connect = next((p for p in providers if request.POST.get("oauth_provider") == str(p.pk)), None)
    form = ExternalAccountForm(
        request.POST or None,
        instance=account,
        user=request.user,
        protocol=request.GET.get("protocol", ""),
        oauth=connect is not None,
    )
    test_failed = False
    if connect is not None and form.is_valid():
        try:
            return _connect(request, connect, form.instance, form.cleaned_data if adding else None)
        except MailError as exc:
            form.add_error(None, exc.user_message)
    elif request.method == "POST" and form.is_valid():
        try:
            count = actions.account_save(
                user=request.user,
                account=form.instance,
                password=form.cleaned_data["password"],
                mailbox_password=mailbox.password,
                client_ip=mailbox.client_ip,
            )
        except MailError as exc:
            form.add_error(None, exc.user_message)
            test_failed = True
        else:
            messages.success(
                request,
                _("Connected to %(host)s: %(count)d messages on the server. Checking for mail now.")
                % {"host": form.instance.host, "count": count},
            )
            return redirect("imports:list")
    context = {
        "form": form,
        "adding": adding,
        "account": account,
        "test_failed": test_failed,
        "providers": providers,
    }
    return _to_providers(render(request, "imports/form.html", context), providers)


# ---------------------------------------------------------------- OAuth 2.0 ("Connect with …")


def _to_providers(response: HttpResponse, providers: list[OAuthProvider]) -> HttpResponse:
    """Let this page's forms lead to the providers' sign-in pages: "Connect" and "Reconnect" are
    POSTs answered by a redirect there, which the policy's form-action ('self') would stop."""
    origins = sorted({oauth.origin(p.authorization_endpoint) for p in providers} - {""})
    if origins:
        # django-csp's middleware reads this attribute, which HttpResponse does not declare.
        cast(Any, response)._csp_update = {"form-action": origins}
    return response


PENDING_KEY = "imports_oauth_pending"
PENDING_KEPT = 5  # sign-ins under way at once (several tabs)


def _connect(
    request: SignedInRequest,
    provider: OAuthProvider,
    account: ExternalAccount,
    cleaned: dict[str, Any] | None,
) -> HttpResponse:
    """Send the browser to the provider; its answer comes back to ``oauth_callback_view``."""
    settings_data = (
        {name: cleaned[name] for name in actions.SETTINGS_FIELDS if name in cleaned} if cleaned else {}
    )
    url, pending = actions.oauth_begin(
        provider=provider,
        redirect_uri=request.build_absolute_uri(reverse("imports:oauth_callback")),
        account=account,
        settings_data=settings_data,
    )
    waiting = dict(list(request.session.get(PENDING_KEY, {}).items())[-(PENDING_KEPT - 1) :])
    waiting[pending.state] = pending.as_dict()
    request.session[PENDING_KEY] = waiting
    return redirect(url)


@mailbox_required
@require_GET
def oauth_callback_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    """The provider sends the browser back here with a code (or an error) and our state."""
    waiting = dict(request.session.get(PENDING_KEY, {}))
    state = request.GET.get("state", "")
    data = waiting.pop(state, None) if state else None  # used once, whatever the outcome
    request.session[PENDING_KEY] = waiting
    if data is None:
        messages.error(request, _("This sign-in was not started here, or was already used. Start again."))
        return redirect("imports:list")
    pending = actions.PendingConnect.from_dict(data)
    back = redirect("imports:list") if pending.account_id else redirect("imports:add")
    if request.GET.get("error") or not request.GET.get("code"):
        messages.error(request, _("Access was not granted, so nothing was saved."))
        return back
    try:
        account, count = actions.oauth_complete(
            user=request.user,
            pending=pending,
            code=request.GET["code"],
            mailbox_password=mailbox.password,
            client_ip=mailbox.client_ip,
        )
    except (MailError, ExternalAccount.DoesNotExist) as exc:
        text = exc.user_message if isinstance(exc, MailError) else _("This account is gone.")
        messages.error(request, _("Connecting failed; nothing was saved. %(reason)s") % {"reason": text})
        return back
    messages.success(
        request,
        _("Connected to %(host)s: %(count)d messages on the server. Checking for mail now.")
        % {"host": account.host, "count": count},
    )
    return redirect("imports:list")


@login_required
@require_POST
def account_reconnect_view(request: SignedInRequest, pk: int) -> HttpResponse:
    """Sign in at the provider again, for an account whose grant was withdrawn or expired."""
    account = _own_mail_account(request, pk)
    provider = account.oauth_grant.provider if account.uses_oauth else oauth.provider_for_host(account.host)
    if provider is None:
        messages.error(request, _("No sign-in service is set up for %(host)s.") % {"host": account.host})
        return redirect("imports:list")
    try:
        return _connect(request, provider, account, None)
    except MailError as exc:
        messages.error(request, exc.user_message)
        return redirect("imports:list")


@login_required
@require_POST
def account_pause_view(request: SignedInRequest, pk: int) -> HttpResponse:
    account = _own(request, pk)
    actions.account_pause(account=account)
    messages.info(request, _("Checking %(email)s is paused.") % {"email": account.email})
    return redirect("imports:list")


@mailbox_required
@require_POST
def account_resume_view(request: SignedInRequest, mailbox: UserMailbox, pk: int) -> HttpResponse:
    account = _own(request, pk)
    actions.account_resume(account=account, mailbox_password=mailbox.password)
    messages.success(request, _("Checking %(email)s again, starting now.") % {"email": account.email})
    return redirect("imports:list")


@login_required
@require_POST
def account_check_view(request: SignedInRequest, pk: int) -> HttpResponse:
    account = _own(request, pk)
    outcome = actions.check_now(account=account)
    names = {"email": account.email}
    if outcome == actions.CheckNow.QUEUED:
        messages.success(request, _("Checking %(email)s for new mail now.") % names)
    elif outcome == actions.CheckNow.RUNNING:
        messages.info(
            request, _("A check of %(email)s is already running; its progress shows below.") % names
        )
    elif outcome == actions.CheckNow.TAKING_OVER:
        messages.info(
            request,
            _("The last check of %(email)s stopped unexpectedly; a new one takes over within seconds.")
            % names,
        )
    else:
        messages.error(request, _("%(email)s is paused; resume it first.") % names)
    return redirect("imports:list")


@login_required
@require_http_methods(["GET", "POST"])
def account_remove_view(request: SignedInRequest, pk: int) -> HttpResponse:
    account = _own(request, pk)
    if request.method == "POST":
        actions.account_remove(account=account)
        messages.success(
            request,
            _("%(email)s was removed. The mail already imported stays in your mailbox.")
            % {"email": account.email},
        )
        return redirect("imports:list")
    return render(request, "imports/remove.html", {"account": account})


# ---------------------------------------------------------------- archives


def _upload(request: SignedInRequest, pk: str) -> ArchiveUpload:
    return get_object_or_404(ArchiveUpload, pk=pk, user=request.user)


def _upload_state(upload: ArchiveUpload, status: int = 200, error: str = "") -> JsonResponse:
    data: dict[str, object] = {
        "id": str(upload.pk),
        "offset": upload.received,
        "size": upload.size,
        "status": upload.status,
        "chunk": settings.WEBMAIL_ARCHIVE_CHUNK_BYTES,
    }
    if error:
        data["error"] = error
    return JsonResponse(data, status=status)


def _bounded_int(value: str | None, *, maximum: int) -> int | None:
    if value is None or not value.isdigit() or len(value) > 20:
        return None
    number = int(value)
    return number if number <= maximum else None


@mailbox_required
@require_POST
def archive_start_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    """Open an upload: the browser sends the file's name and size, then its chunks."""
    size = _bounded_int(request.POST.get("size"), maximum=2**62)
    try:
        upload = actions.archive_start(
            user=request.user,
            filename=request.POST.get("filename", ""),
            size=size if size is not None else -1,
            mailbox_password=mailbox.password,
        )
    except actions.ArchiveRefused as exc:
        return JsonResponse({"error": exc.message}, status=400)
    return _upload_state(upload, status=201)


@login_required
@require_GET
def archive_state_view(request: SignedInRequest, pk: str) -> HttpResponse:
    """Where an upload stands: the browser asks after a dropped connection, and resumes there."""
    return _upload_state(_upload(request, pk))


@login_required
@require_POST
def archive_chunk_view(request: SignedInRequest, pk: str) -> HttpResponse:
    """One chunk of the file, raw in the body, for the place ``?offset=`` names."""
    upload = _upload(request, pk)
    offset = _bounded_int(request.GET.get("offset"), maximum=upload.size)
    length = _bounded_int(request.META.get("CONTENT_LENGTH"), maximum=settings.WEBMAIL_ARCHIVE_CHUNK_BYTES)
    if offset is None or not length:
        return _upload_state(upload, 400, _("This piece of the file does not fit the upload."))
    try:
        actions.archive_chunk(upload=upload, offset=offset, length=length, stream=request)
    except actions.ArchiveRefused as exc:
        upload.refresh_from_db()
        return _upload_state(upload, 409, exc.message)
    upload.refresh_from_db()
    return _upload_state(upload)


@login_required
@require_POST
def archive_cancel_view(request: SignedInRequest, pk: str) -> HttpResponse:
    upload = _upload(request, pk)
    actions.archive_cancel(upload=upload)
    messages.info(
        request,
        _("%(name)s: stopped and its file deleted. Mail already imported stays.") % {"name": upload.filename},
    )
    return redirect("imports:list")
