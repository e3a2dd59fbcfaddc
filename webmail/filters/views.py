"""Settings → Filters: thin views around ``store`` (the script), ``forwarding`` and ``apply``.

Every page reads the rules from the server afresh; every change is made to
the script as the server has it now, refused if it changed since the form was
shown (``store.RulesChanged``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from webmail.compose.models import KnownAddress
from webmail.http.decorators import mailbox_required
from webmail.http.signedin import SignedInRequest
from webmail.http.siteurl import absolute_url
from webmail.mailaccess.errors import FiltersUnavailable, MailError, ScriptRejected
from webmail.mailaccess.managesieve import SieveSession
from webmail.mailaccess.session import UserMailbox
from webmail.mailaccess.types import Folder, FolderRole
from webmail.sanitize import sanitize_html
from webmail.sendas.models import Identity

from . import apply, availability, forwarding, script, store
from .forms import (
    CodeForm,
    FilterForm,
    ForwardAddressForm,
    RawScriptForm,
    VacationForm,
    initial_for,
    vacation_initial,
)
from .models import ApplyJob, ForwardAddress
from .rules import Filter, RawRule, Rules, describe_actions, describe_criteria

MAX_PASSWORD_TRIES = 5
MAX_CONTACTS = 2000  # written into the script for "only my contacts"
_PASSWORD_TRIES = "filters_password_tries"  # noqa: S105 - a session key name


# ------------------------------------------------------------------ helpers
def _folders(mailbox: UserMailbox) -> tuple[list[tuple[str, str]], str]:
    """(folder choices, the Trash folder's name) from the user's mailbox."""
    folders: list[Folder] = mailbox.read(lambda mail: mail.folders())
    choices = [(f.name, f.path_label) for f in folders if f.selectable]
    trash = next((f.name for f in folders if f.role == FolderRole.TRASH), "Trash")
    return choices, trash


def _unavailable(request: SignedInRequest, error: FiltersUnavailable) -> HttpResponse:
    availability.remember_unavailable(request.user, error)
    return render(request, "filters/unavailable.html", {"reason": error.user_message})


def _forward_choices(request: SignedInRequest, current: str = "") -> list[str]:
    confirmed = sorted(store.confirmed_addresses(request.user))
    if current and current.lower() not in confirmed:
        confirmed.append(current)  # already in the server's script: keeping it needs no new proof
    return confirmed


def _after_save(
    request: SignedInRequest, mailbox: UserMailbox, saved: store.Saved, rules: Rules | None
) -> None:
    if rules is not None:
        availability.remember_vacation(request.user, rules.vacation)
    if saved.new_forward_targets:
        try:
            forwarding.notify_forwarding(mailbox=mailbox, targets=saved.new_forward_targets)
        except MailError:
            pass  # the filter is saved; the notice is best effort (the confirmation was mailed already)


def _version(request: SignedInRequest) -> str:
    return (request.POST.get("version") or "")[:64]


# ------------------------------------------------------------------ the list
@mailbox_required
@require_GET
def index_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    folders, trash = _folders(mailbox)
    try:
        with store.session_for(request.user, mailbox) as sieve:
            loaded = store.load(sieve, trash=trash)
    except FiltersUnavailable as exc:
        return _unavailable(request, exc)
    availability.remember_vacation(request.user, loaded.rules.vacation)
    names = {name for name, _label in folders}
    entries = []
    for index, entry in enumerate(loaded.rules.entries):
        if isinstance(entry, Filter):
            missing = entry.actions.move_to and entry.actions.move_to not in names
            entries.append(
                {
                    "index": index,
                    "kind": "filter",
                    "name": entry.name,
                    "criteria": describe_criteria(entry.criteria),
                    "actions": describe_actions(entry.actions),
                    "enabled": entry.enabled,
                    "folder_missing": entry.actions.move_to if missing else "",
                }
            )
        else:
            entries.append({"index": index, "kind": "raw", "name": entry.label, "text": entry.text})
    context = {
        "entries": entries,
        "whole_raw": loaded.rules.whole_raw,
        "vacation": loaded.rules.vacation,
        "version": loaded.version,
        "forward_addresses": ForwardAddress.objects.filter(user=request.user),
        "forward_form": ForwardAddressForm(),
        "jobs": ApplyJob.objects.filter(user=request.user)[:5],
        "today": timezone.localdate(),
    }
    return render(request, "filters/index.html", context)


def _prefill(request: SignedInRequest) -> dict[str, Any]:
    """The fields of a search ("filter messages like these") or a sender ("from this sender")."""
    get = request.GET
    initial: dict[str, Any] = {
        "sender": get.get("from", ""),
        "recipient": get.get("to", ""),
        "subject": get.get("subject", ""),
        "has_words": get.get("body", ""),
        "has_attachment": get.get("attachment") == "1",
    }
    quick = " ".join((get.get("q") or "").split())
    if quick and not initial["sender"]:
        # The quick search looks at the sender or the subject; a filter field is one or the other.
        initial["sender"] = quick
        messages.info(
            request,
            _("Your search “%(text)s” was put in From; move it to Subject if you meant the subject.")
            % {"text": quick},
        )
    folder = get.get("folder", "")
    if folder:
        initial["apply_folder"] = folder
    return {k: (v[:200] if isinstance(v, str) else v) for k, v in initial.items()}


@mailbox_required
@require_http_methods(["GET", "POST"])
def filter_new_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    return _edit(request, mailbox, None)


@mailbox_required
@require_http_methods(["GET", "POST"])
def filter_edit_view(request: SignedInRequest, mailbox: UserMailbox, index: int) -> HttpResponse:
    return _edit(request, mailbox, index)


def _edit(request: SignedInRequest, mailbox: UserMailbox, index: int | None) -> HttpResponse:
    folders, trash = _folders(mailbox)
    try:
        with store.session_for(request.user, mailbox) as sieve:
            loaded = store.load(sieve, trash=trash)
            current = _entry(loaded, index)
            if isinstance(current, RawRule):
                messages.info(request, _("This rule was written in another program: edit it as a script."))
                return redirect("filters:raw")
            initial = initial_for(current) if current else _prefill(request)
            initial["version"] = loaded.version
            form = FilterForm(
                request.POST or None,
                initial=initial,
                folders=folders,
                forward_choices=_forward_choices(request, current.actions.forward_to if current else ""),
            )
            if request.method == "POST" and form.is_valid():
                response = _save_filter(request, mailbox, sieve, form, index, current, trash)
                if response is not None:
                    return response
    except FiltersUnavailable as exc:
        return _unavailable(request, exc)
    context = {"form": form, "index": index, "adding": index is None}
    return render(request, "filters/filter_form.html", context, status=400 if form.errors else 200)


def _entry(loaded: store.Loaded, index: int | None) -> Filter | RawRule | None:
    if index is None:
        return None
    if not 0 <= index < len(loaded.rules.entries):
        raise Http404("no such filter")
    return loaded.rules.entries[index]


def _save_filter(
    request: SignedInRequest,
    mailbox: UserMailbox,
    sieve: SieveSession,
    form: FilterForm,
    index: int | None,
    current: Filter | RawRule | None,
    trash: str,
) -> HttpResponse | None:
    """Save the form's filter into the current script; None when the form shows an error instead."""
    try:
        loaded = store.load_current(sieve, version=form.cleaned_data["version"], trash=trash)
    except store.RulesChanged as exc:
        messages.error(request, exc.user_message)
        return redirect("filters:index")
    rule = form.rule(enabled=current.enabled if isinstance(current, Filter) else True)
    entries = list(loaded.rules.entries)
    if index is None:
        entries.append(rule)
    else:
        entries[index] = rule
    rules = replace(loaded.rules, entries=entries)
    try:
        saved = store.save_rules(sieve, loaded, rules, user=request.user)
    except (ScriptRejected, store.ForwardNotConfirmed) as exc:
        form.add_error(None, exc.user_message)
        return None
    _after_save(request, mailbox, saved, rules)
    messages.success(request, _("Filter saved: %(rule)s") % {"rule": rule.label})
    if form.cleaned_data.get("apply_existing"):
        folder = form.cleaned_data["apply_folder"]
        job = apply.job_create(user=request.user, rule=rule, folder=folder, trash=trash, mailbox=mailbox)
        if job is None:
            messages.info(request, _("Forwarding and “never send to Junk” apply to new mail only."))
    return redirect("filters:index")


@mailbox_required
@require_POST
def filter_change_view(request: SignedInRequest, mailbox: UserMailbox, index: int, op: str) -> HttpResponse:
    """Move up or down, pause, resume or delete one rule."""
    if op not in ("up", "down", "pause", "resume", "delete"):
        raise Http404("no such change")
    _folders_list, trash = _folders(mailbox)
    try:
        with store.session_for(request.user, mailbox) as sieve:
            loaded = store.load_current(sieve, version=_version(request), trash=trash)
            rules = _changed(loaded.rules, index, op)
            saved = store.save_rules(sieve, loaded, rules, user=request.user)
    except FiltersUnavailable as exc:
        return _unavailable(request, exc)
    except (store.RulesChanged, ScriptRejected) as exc:
        messages.error(request, exc.user_message)
        return redirect("filters:index")
    _after_save(request, mailbox, saved, rules)
    return redirect("filters:index")


def _changed(rules: Rules, index: int, op: str) -> Rules:
    entries = list(rules.entries)
    if not 0 <= index < len(entries):
        raise Http404("no such filter")
    vacation_at = rules.vacation_at
    if op in ("up", "down"):
        other = index - 1 if op == "up" else index + 1
        if 0 <= other < len(entries):
            entries[index], entries[other] = entries[other], entries[index]
    elif op in ("pause", "resume"):
        entry = entries[index]
        if not isinstance(entry, Filter):
            raise Http404("only the editor's filters can be paused")
        entries[index] = entry.paused(op == "pause")
    else:
        del entries[index]
        if index < vacation_at:
            vacation_at -= 1
    return replace(rules, entries=entries, vacation_at=vacation_at)


# ------------------------------------------------------------------ vacation
def _own_addresses(request: SignedInRequest) -> tuple[str, ...]:
    own = request.user.mail_account.email
    others = (
        Identity.objects.filter(user=request.user).usable().exclude(email="").values_list("email", flat=True)
    )
    return tuple(dict.fromkeys([own.lower(), *(e.lower() for e in others)]))


def _contacts(request: SignedInRequest) -> tuple[str, ...]:
    rows = KnownAddress.objects.filter(user=request.user).order_by("-last_seen")
    return tuple(sorted(rows.values_list("email", flat=True)[:MAX_CONTACTS]))


def _clean_html(html: str) -> str:
    """The rich editor's HTML through the sanitizer every message goes through (as compose does)."""
    if not html.strip():
        return ""
    return sanitize_html(html, cid_url=lambda _cid: None, allow_remote=True).html


@mailbox_required
@require_http_methods(["GET", "POST"])
def vacation_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    try:
        with store.session_for(request.user, mailbox) as sieve:
            loaded = store.load(sieve)
            initial = {**vacation_initial(loaded.rules.vacation), "version": loaded.version}
            # The script may have been written elsewhere: its HTML goes into the editor sanitized.
            initial["html"] = _clean_html(initial.get("html") or "")
            form = VacationForm(request.POST or None, initial=initial)
            if request.method == "POST" and form.is_valid():
                response = _save_vacation(request, mailbox, sieve, form)
                if response is not None:
                    return response
    except FiltersUnavailable as exc:
        return _unavailable(request, exc)
    return render(request, "filters/vacation.html", {"form": form}, status=400 if form.errors else 200)


def _save_vacation(
    request: SignedInRequest, mailbox: UserMailbox, sieve: SieveSession, form: VacationForm
) -> HttpResponse | None:
    contacts = _contacts(request)
    if form.cleaned_data.get("audience") == VacationForm.CONTACTS and not contacts:
        form.add_error(
            "audience", _("You have no contacts yet: reply to everyone, or write to people first.")
        )
        return None
    try:
        loaded = store.load_current(sieve, version=form.cleaned_data["version"])
    except store.RulesChanged as exc:
        messages.error(request, exc.user_message)
        return redirect("filters:vacation")
    vacation = form.vacation(
        html=_clean_html(form.cleaned_data.get("html") or ""),
        contacts=contacts,
        addresses=_own_addresses(request),
    )
    rules = replace(loaded.rules, vacation=vacation)
    if loaded.rules.vacation is None:
        rules.vacation_at = 0  # a new reply goes first: no rule before it can stop it
    try:
        saved = store.save_rules(sieve, loaded, rules, user=request.user)
    except ScriptRejected as exc:
        form.add_error(None, exc.user_message)
        return None
    _after_save(request, mailbox, saved, rules)
    if vacation.enabled:
        messages.success(request, _("Your vacation reply is on."))
    else:
        messages.success(request, _("Your vacation reply is off."))
    return redirect("filters:index")


@mailbox_required
@require_GET
def banner_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    """The mailbox's "vacation reply is on" banner (empty when it is off), loaded after the page."""
    vacation = availability.active_vacation(request.user, mailbox, timezone.localdate())
    return render(request, "filters/_vacation_banner.html", {"vacation": vacation})


# ------------------------------------------------------------------ the raw script
@mailbox_required
@require_http_methods(["GET", "POST"])
def raw_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    problems: list[Any] = []
    try:
        with store.session_for(request.user, mailbox) as sieve:
            loaded = store.load(sieve)
            form = RawScriptForm(
                request.POST or None, initial={"script": loaded.text, "version": loaded.version}
            )
            if request.method == "POST" and form.is_valid():
                try:
                    current = store.load_current(sieve, version=form.cleaned_data["version"])
                    saved = store.save_text(sieve, current, form.cleaned_data["script"], user=request.user)
                except store.RulesChanged as exc:
                    form.add_error(None, exc.user_message)
                except ScriptRejected as exc:
                    form.add_error(None, exc.user_message)
                    problems = exc.problems
                except (store.ForwardNotConfirmed, store.UncheckableScript) as exc:
                    form.add_error(None, exc.user_message)
                else:
                    _after_save(request, mailbox, saved, script.read(saved.text))
                    messages.success(request, _("The script was checked by your mail server and saved."))
                    return redirect("filters:index")
    except FiltersUnavailable as exc:
        return _unavailable(request, exc)
    lines = [p.line for p in problems if getattr(p, "line", None)]
    context = {"form": form, "problems": problems, "error_lines": lines}
    return render(request, "filters/raw.html", context, status=400 if form.errors else 200)


# ------------------------------------------------------------------ forwarding addresses
def _link_for(token: str) -> str:
    # The configured address, never the request's Host header: this link goes out by mail.
    return absolute_url(reverse("filters:forward_confirm", args=[token]))


def _send_proof(request: SignedInRequest, mailbox: UserMailbox, address: ForwardAddress) -> None:
    try:
        forwarding.proof_send(address=address, mailbox=mailbox, link_for=_link_for)
    except MailError as exc:
        messages.error(
            request,
            _("The confirmation message to %(address)s could not be sent: %(reason)s")
            % {"address": address.email, "reason": exc.user_message},
        )
    else:
        messages.success(
            request,
            _(
                "We sent a confirmation message to %(address)s. Once its link is followed (or its code "
                "typed here), filters may forward mail there."
            )
            % {"address": address.email},
        )


@sensitive_post_parameters("password")
@mailbox_required
@require_POST
def forward_add_view(request: SignedInRequest, mailbox: UserMailbox) -> HttpResponse:
    form = ForwardAddressForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter an email address and your password."))
        return redirect("filters:index")
    if not constant_time_compare(form.cleaned_data["password"], mailbox.password):
        tries = int(request.session.get(_PASSWORD_TRIES, 0)) + 1
        request.session[_PASSWORD_TRIES] = tries
        if tries >= MAX_PASSWORD_TRIES:
            # Someone holding this session does not know its password: end it.
            logout(request)
            messages.error(request, _("Too many wrong passwords: you have been signed out."))
            return redirect_to_login(reverse("filters:index"))
        messages.error(request, _("That is not your mailbox password; the address was not added."))
        return redirect("filters:index")
    request.session.pop(_PASSWORD_TRIES, None)
    email = form.cleaned_data["email"].lower()
    if email == mailbox.username.lower():
        messages.error(request, _("That is your own address."))
        return redirect("filters:index")
    with transaction.atomic():
        address = forwarding.address_add(user=request.user, email=email)
    if address.verified:
        messages.info(request, _("%(address)s is already confirmed.") % {"address": address.email})
    else:
        _send_proof(request, mailbox, address)
    return redirect("filters:index")


def _own_address(request: SignedInRequest, pk: int) -> ForwardAddress:
    return get_object_or_404(ForwardAddress, pk=pk, user=request.user)  # another user's id: 404


@mailbox_required
@require_POST
def forward_resend_view(request: SignedInRequest, mailbox: UserMailbox, pk: int) -> HttpResponse:
    address = _own_address(request, pk)
    if address.verified:
        return redirect("filters:index")
    if not forwarding.may_resend(address):
        messages.error(request, _("A confirmation message was just sent; please wait a minute."))
    else:
        _send_proof(request, mailbox, address)
    return redirect("filters:index")


@mailbox_required
@require_POST
def forward_code_view(request: SignedInRequest, mailbox: UserMailbox, pk: int) -> HttpResponse:
    address = _own_address(request, pk)
    form = CodeForm(request.POST)
    code = form.cleaned_data["code"] if form.is_valid() else ""
    result = forwarding.confirm_code(address=address, code=code)
    if result == forwarding.Confirmed.YES:
        messages.success(
            request,
            _("%(address)s is confirmed: filters may forward mail there.") % {"address": address.email},
        )
    elif result == forwarding.Confirmed.WRONG:
        messages.error(request, _("That code is not right. Check the confirmation message and try again."))
    else:
        messages.error(
            request, _("That code has expired or was tried too often. Send a new confirmation message.")
        )
    return redirect("filters:index")


@mailbox_required
@require_POST
def forward_remove_view(request: SignedInRequest, mailbox: UserMailbox, pk: int) -> HttpResponse:
    address = _own_address(request, pk)
    try:
        with store.session_for(request.user, mailbox) as sieve:
            loaded = store.load(sieve)
    except FiltersUnavailable as exc:
        return _unavailable(request, exc)
    if address.email.lower() in (script.forward_targets(loaded.text) or set()):
        messages.error(
            request,
            _("A filter still forwards mail to %(address)s: change or delete it first.")
            % {"address": address.email},
        )
        return redirect("filters:index")
    address.delete()
    return redirect("filters:index")


@require_http_methods(["GET", "POST"])
def forward_confirm_view(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the confirmation message: a page with a button (a link scanner confirms nothing)."""
    address = forwarding.by_token(token)
    if address is None:
        return render(request, "filters/forward_confirm.html", {"result": "expired"}, status=400)
    account = address.user.mail_account
    context = {"address": address.email, "account": account.email}
    if request.method == "POST":
        forwarding.confirm_token(token=token)
        context["result"] = "yes"
    return render(request, "filters/forward_confirm.html", context)


# ------------------------------------------------------------------ progress of "apply to existing"
@mailbox_required
@require_GET
def job_view(request: SignedInRequest, mailbox: UserMailbox, pk: int) -> HttpResponse:
    job = get_object_or_404(ApplyJob, pk=pk, user=request.user)
    return render(request, "filters/_job.html", {"job": job})
