"""What a user (or an admin) does to an external account. Each owns its transaction and side effects."""

from __future__ import annotations

import contextlib
import enum
import fcntl
import os
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from accounts.models import CredentialAttempt, MailAccount
from accounts.secret_binding import SecretMustBeRetyped, endpoint_key
from accounts.servers import resolve
from accounts.throttle import Target, credential_try
from webmail.mailaccess.sasl import BearerToken

from . import dispatch, oauth, runlock, service
from .models import ArchiveUpload, ExternalAccount, FetchRun, OAuthProvider
from .sources.archive import archive_path
from .tasks import queue_import

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# The settings a user edits; the import writes the status fields, never these.
SETTINGS_FIELDS = [
    "email",
    "protocol",
    "host",
    "port",
    "security",
    "username",
    "leave_copy",
    "delete_after_days",
    "target",
    "folders",
    "mark_seen",
    "interval_minutes",
]


@sensitive_variables("password", "secret", "mailbox_password")
def account_save(
    *,
    user: User,
    account: ExternalAccount,
    password: str,
    mailbox_password: str,
    client_ip: str = "",
) -> int:
    """Test the connection, then save and queue a first check. Returns the server's message count.

    Raises a MailError (in plain words) when the test fails; nothing is saved then.
    ``password`` may be empty when editing the account's other settings: the stored
    one is kept, and only ever sent to the server, port, TLS mode and login it was saved for.
    The test is a sign-in with what the user typed: throttled (``accounts.throttle``).
    ``mailbox_password`` is the user's own, stored encrypted so the worker can write to the mailbox.
    """
    secret: str | BearerToken
    connected = account.pk is not None and account.uses_oauth and not password
    if connected:
        # Signed in with a grant: the token only goes to the server and login it was given for.
        if oauth.bound_key(account) != account.oauth_grant.bound_to:
            raise SecretMustBeRetyped(
                _("Connect with %(provider)s again when you change the server or username.")
                % {"provider": account.oauth_grant.provider.name}
            )
        secret = oauth.access_token(account)
    else:
        secret = password or ExternalAccount.SECRET_BINDING.stored_secret_for(account)
    count = _signed_in_test(user=user, account=account, secret=secret, client_ip=client_ip)
    with transaction.atomic():
        if password:
            account.password = password
            if account.pk is not None and account.uses_oauth:
                _forget_grant(account)  # a password typed replaces the connection
        if not account.leave_copy:
            account.delete_after_days = None  # everything is deleted once stored anyway
        if account.pk is None:
            account.user = user
            account.save()
        else:
            account.save(update_fields=[*SETTINGS_FIELDS, "password"])
        _store_mailbox_password(user, mailbox_password)
        if account.paused_reason == ExternalAccount.Paused.USER:
            return count  # paused by the user: saving settings does not resume it
        # New, or paused after refused sign-ins: the test just passed, so check now.
        _resume_fields(account.pk)
        _queue_now(account.pk, FetchRun.Trigger.USER)
    return count


@sensitive_variables("secret")
def _signed_in_test(
    *, user: User, account: ExternalAccount, secret: str | BearerToken, client_ip: str
) -> int:
    """Sign in to the account's server with what the user gave (throttled like our own sign-in)."""
    kind = CredentialAttempt.Kind.IMAP if account.is_imap else CredentialAttempt.Kind.POP3
    target = Target(kind, account.host, account.username, account.port)
    with credential_try(user=user, target=target, client_ip=client_ip):
        return service.connection_test(
            endpoint=account.pop_endpoint(),
            username=account.username,
            password=secret,
            protocol=account.protocol,
            folders=account.chosen_folders,
        )


def account_pause(*, account: ExternalAccount) -> None:
    # A check still queued finds its claim gone and does nothing.
    ExternalAccount.objects.filter(pk=account.pk).update(
        enabled=False, paused_reason=ExternalAccount.Paused.USER, queued_at=None
    )


def account_resume(*, account: ExternalAccount, mailbox_password: str | None = None) -> None:
    with transaction.atomic():
        _resume_fields(account.pk)
        if mailbox_password:
            _store_mailbox_password(account.user, mailbox_password)
        _queue_now(account.pk, FetchRun.Trigger.USER)


def account_remove(*, account: ExternalAccount) -> None:
    """Forget the account, its ledger and history. The mail already imported stays in the mailbox."""
    if account.uses_oauth:
        oauth.revoke(account.oauth_grant)  # tell the provider, where it offers that
    waiting = [archive_path(u) for u in account.uploads.exclude(status=ArchiveUpload.Status.DONE)]
    with transaction.atomic():
        user_id = account.user_id
        account.delete()
        if not ExternalAccount.objects.filter(user_id=user_id).exists():
            # No import left that needs the user's mailbox password: do not keep it.
            MailAccount.objects.filter(user_id=user_id).update(imap_password="", imap_password_for="")
    for path in waiting:  # archives not imported yet: their files go with the account
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _forget_grant(account: ExternalAccount) -> None:
    grant = account.oauth_grant
    oauth.revoke(grant)
    grant.delete()
    account._state.fields_cache.pop("oauth_grant", None)  # the cached reverse relation


# ---------------------------------------------------------------- OAuth 2.0 ("Connect with …")


@dataclass(frozen=True)
class PendingConnect:
    """What the browser's trip to the provider must come back to (kept in the user's session)."""

    state: str
    code_verifier: str
    provider_id: int
    redirect_uri: str
    account_id: int | None  # reconnecting this account; None: adding one with ``settings``
    settings: dict[str, Any]
    started: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PendingConnect:
        return cls(**data)


def oauth_begin(
    *,
    provider: OAuthProvider,
    redirect_uri: str,
    account: ExternalAccount,
    settings_data: dict[str, Any] | None = None,
) -> tuple[str, PendingConnect]:
    """The provider's authorization URL, and what the callback needs (state, PKCE verifier...).

    ``account`` is the account being reconnected (saved), or the one being added (not
    saved yet: ``settings_data`` holds its form's values until the provider sends the user back).
    """
    if not provider.enabled:
        raise oauth.ProviderRefused(_("This sign-in service is not offered any more."))
    if not provider.serves(account.host):
        raise oauth.ProviderRefused(
            _("%(provider)s sign-in is only for its own servers: %(hosts)s.")
            % {"provider": provider.name, "hosts": ", ".join(provider.hosts)}
        )
    started = oauth.begin(provider, redirect_uri=redirect_uri, login_hint=account.username or account.email)
    pending = PendingConnect(
        state=started.state,
        code_verifier=started.code_verifier,
        provider_id=provider.pk,
        redirect_uri=redirect_uri,
        account_id=account.pk,
        settings=dict(settings_data or {}),
        started=time.time(),
    )
    return started.url, pending


@sensitive_variables("mailbox_password", "token", "code")
def oauth_complete(
    *, user: User, pending: PendingConnect, code: str, mailbox_password: str, client_ip: str = ""
) -> tuple[ExternalAccount, int]:
    """Trade the code for tokens, test the sign-in with them, then save the account and its grant.

    Returns the account and its server's message count. Raises a MailError (in words)
    when anything fails; nothing is saved then.
    """
    if time.time() - pending.started > oauth.PENDING_SECONDS:
        raise oauth.ProviderRefused(_("The sign-in took too long. Start again."))
    provider = OAuthProvider.objects.filter(pk=pending.provider_id, enabled=True).first()
    if provider is None:
        raise oauth.ProviderRefused(_("This sign-in service is not offered any more."))
    if pending.account_id is not None:
        account = ExternalAccount.objects.exclude(protocol=ExternalAccount.Protocol.ARCHIVE).get(
            pk=pending.account_id, user=user
        )
    else:
        fields = {name: value for name, value in pending.settings.items() if name in SETTINGS_FIELDS}
        account = ExternalAccount(user=user, **fields)
    if not provider.serves(account.host):
        raise oauth.ProviderRefused(_("This sign-in service is not for this server."))
    same = ExternalAccount.objects.filter(
        user=user, host=account.host, port=account.port, username=account.username
    ).exclude(pk=account.pk)
    if same.exists():  # added meanwhile (another tab, a second click)
        raise oauth.ProviderRefused(_("You already check this account."))
    token = oauth.exchange(
        provider, code=code, code_verifier=pending.code_verifier, redirect_uri=pending.redirect_uri
    )
    bearer = BearerToken(provider.mechanism, token["access_token"])
    count = _signed_in_test(user=user, account=account, secret=bearer, client_ip=client_ip)
    with transaction.atomic():
        if account.pk is None:
            if not account.leave_copy:
                account.delete_after_days = None
            account.save()
        else:
            # Connected now: no stored password is kept beside the grant.
            ExternalAccount.objects.filter(pk=account.pk).update(password="")
        oauth.save_grant(account, provider, token)
        _store_mailbox_password(user, mailbox_password)
        if account.paused_reason != ExternalAccount.Paused.USER:
            _resume_fields(account.pk)
            _queue_now(account.pk, FetchRun.Trigger.USER)
    return account, count


class CheckNow(enum.Enum):
    QUEUED = "queued"  # a check starts now (or one already queued will)
    RUNNING = "running"  # a live check is under way: nothing to add
    TAKING_OVER = "taking over"  # the running check died: the next takes over when its lease lapses
    PAUSED = "paused"


def check_now(*, account: ExternalAccount, trigger: str = FetchRun.Trigger.USER) -> CheckNow:
    """Check at once, unless that would make things worse.

    A live check is left alone (a second would only wait for its lock). A dead
    one is taken over by the dispatcher as soon as its lease lapses, whatever is
    pressed. Neither case, nor this one, moves the next scheduled check.
    """
    if not account.enabled:
        return CheckNow.PAUSED
    run = runlock.holder(account.pk)
    if run is not None and run.lease_until is not None and run.lease_until >= timezone.now():
        return CheckNow.RUNNING if runlock.is_alive(run) else CheckNow.TAKING_OVER
    with transaction.atomic():
        _queue_now(account.pk, trigger)
    return CheckNow.QUEUED


def refresh_mailbox_password(*, user: User, mailbox_password: str) -> None:
    """Keep the stored credential current (the user may have changed it) while imports need it."""
    if ExternalAccount.objects.filter(user=user).exists():
        _store_mailbox_password(user, mailbox_password)


def _store_mailbox_password(user: User, password: str) -> None:
    """Keep the session's password for the worker, bound to the server that accepted it."""
    account = MailAccount.objects.select_related("server").filter(user=user).first()
    if account is None:
        return
    where = endpoint_key(resolve(account.server).imap)
    if account.imap_password != password or account.imap_password_for != where:
        MailAccount.objects.filter(pk=account.pk).update(imap_password=password, imap_password_for=where)


def _queue_now(account_id: int, trigger: str) -> None:
    """Claim and queue a check now; a check already queued (and fresh) will do instead."""
    if dispatch.claim_now(account_id):
        queue_import(account_id, trigger)


def _resume_fields(account_id: int) -> None:
    fields: dict[str, Any] = {
        "enabled": True,
        "paused_reason": ExternalAccount.Paused.NO,
        "failures": 0,
        "auth_failures": 0,
        "last_error": "",
        "next_run_at": timezone.now(),
    }
    ExternalAccount.objects.filter(pk=account_id).update(**fields)


# ---------------------------------------------------------------- archives


class Readable(Protocol):
    """Where a chunk's bytes come from (the request's body)."""

    def read(self, n: int = -1, /) -> bytes: ...


class ArchiveRefused(Exception):
    """An upload request that cannot be taken; ``message`` says why in the user's words."""

    def __init__(self, message: str, *, offset: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset  # where the upload really stands (a chunk sent for another place)


def archive_account(user: User) -> ExternalAccount:
    """The user's one archive account: every upload feeds it, so one ledger spans them all."""
    account, _created = ExternalAccount.objects.get_or_create(
        user=user,
        protocol=ExternalAccount.Protocol.ARCHIVE,
        defaults={
            "email": user.email or user.get_username(),
            "host": "archive",
            "port": 1,
            "security": "none",
            "username": "archive",
            # Uploads queue their own import (archive_import_now): the schedule is only a safety net.
            "interval_minutes": 720,
        },
    )
    return account


@sensitive_variables("mailbox_password")
def archive_start(*, user: User, filename: str, size: int, mailbox_password: str) -> ArchiveUpload:
    """Open an upload of ``size`` bytes; its chunks follow (``archive_chunk``)."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()[:200]
    if not name or any(ord(c) < 32 for c in name):
        raise ArchiveRefused(_("Choose an .mbox or .zip file."))
    if size <= 0:
        raise ArchiveRefused(_("This file is empty."))
    if size > settings.WEBMAIL_ARCHIVE_MAX_BYTES:
        raise ArchiveRefused(
            _("This file is larger than the %(limit)d GB the server accepts.")
            % {"limit": settings.WEBMAIL_ARCHIVE_MAX_BYTES // 1024**3}
        )
    with transaction.atomic():
        account = archive_account(user)
        _store_mailbox_password(user, mailbox_password)
        upload = ArchiveUpload.objects.create(user=user, account=account, filename=name, size=size)
    path = archive_path(upload)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    return upload


def archive_chunk(*, upload: ArchiveUpload, offset: int, length: int, stream: Readable) -> int:
    """Write ``length`` bytes read from ``stream`` at ``offset``; returns the new offset.

    A chunk must start where the upload stands (else ArchiveRefused with the right offset,
    so the browser resumes from there). A connection dropped mid-chunk keeps what arrived.
    The file is locked while written, so two requests never write the same place at once.
    """
    if upload.status != ArchiveUpload.Status.UPLOADING:
        raise ArchiveRefused(_("This upload is already complete."), offset=upload.received)
    if length <= 0 or length > settings.WEBMAIL_ARCHIVE_CHUNK_BYTES or offset + length > upload.size:
        raise ArchiveRefused(_("This piece of the file does not fit the upload."), offset=upload.received)
    path = archive_path(upload)
    try:
        handle = path.open("r+b")
    except FileNotFoundError:
        raise ArchiveRefused(_("This upload was cancelled."), offset=0) from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        received = ArchiveUpload.objects.filter(pk=upload.pk).values_list("received", flat=True).first()
        if received is None or received != offset:
            raise ArchiveRefused(_("The upload goes on from elsewhere."), offset=received or 0)
        handle.seek(offset)
        handle.truncate(offset)  # a dropped chunk's partial tail is overwritten, never kept twice
        written = 0
        while written < length:
            piece = stream.read(min(1 << 20, length - written))
            if not piece:
                break  # the connection dropped: keep what arrived
            handle.write(piece)
            written += len(piece)
        handle.flush()
        os.fsync(handle.fileno())
        received = offset + written
        complete = received == upload.size
        fields: dict[str, Any] = {"received": received}
        if complete:
            fields["status"] = ArchiveUpload.Status.READY
        ArchiveUpload.objects.filter(pk=upload.pk, received=offset).update(**fields)
    if complete:
        archive_import_now(upload.account)
    return received


def archive_import_now(account: ExternalAccount) -> None:
    """Import what was uploaded: at once, or right after the check running now."""
    if not account.enabled:
        ExternalAccount.objects.filter(pk=account.pk).update(enabled=True, paused_reason="")
        account.enabled = True
    if check_now(account=account) != CheckNow.QUEUED:
        ExternalAccount.objects.filter(pk=account.pk).update(next_run_at=timezone.now())


def archive_cancel(*, upload: ArchiveUpload) -> None:
    """Stop an upload (or an import not yet done) and delete its file; imported mail stays."""
    if upload.status == ArchiveUpload.Status.DONE:
        return
    ArchiveUpload.objects.filter(pk=upload.pk).update(status=ArchiveUpload.Status.CANCELLED)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(archive_path(upload))
