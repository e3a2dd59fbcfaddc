"""The import's data: an external account's settings and status, the ledger that
makes import exactly-once, and the history of runs. A run in progress is also
the account's lock: see FetchRun.

Moved here from ``accounts`` (tables kept: each model names its old table), see
``migrations/0001_initial.py``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.fields import EncryptedTextField
from accounts.models import SecurityChoices
from accounts.secret_binding import SecretBinding
from webmail.mailaccess.types import Endpoint, Security


class ExternalAccount(models.Model):
    """Another mailbox read over POP3 and imported into the user's own (Gmail's
    "Check mail from other accounts").

    The import writes its status with ``QuerySet.update()`` and the settings
    forms save only their own fields, so neither overwrites the other.
    """

    class Protocol(models.TextChoices):
        POP3 = "pop3", _("POP3")
        IMAP = "imap", _("IMAP")
        ARCHIVE = "archive", _("uploaded archives")

    class Target(models.TextChoices):
        INBOX = "inbox", _("Inbox")
        LABEL = "label", _("A folder named after this account")

    class Paused(models.TextChoices):
        NO = "", _("not paused")
        USER = "user", _("paused by you")
        AUTH = "auth", _("paused after repeated sign-in failures")
        OAUTH = "oauth", _("paused: the authorization was withdrawn or expired; reconnect")

    INTERVAL_CHOICES = [
        (5, _("every 5 minutes")),
        (10, _("every 10 minutes")),
        (15, _("every 15 minutes")),
        (30, _("every 30 minutes")),
        (60, _("every hour")),
        (180, _("every 3 hours")),
        (720, _("every 12 hours")),
    ]

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_accounts"
    )
    email = models.EmailField(_("email address"))
    protocol = models.CharField(_("protocol"), max_length=8, choices=Protocol.choices, default=Protocol.POP3)
    host = models.CharField(_("server"), max_length=255)
    port = models.PositiveIntegerField(
        _("port"), default=995, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    security = models.CharField(
        _("security"), max_length=10, choices=SecurityChoices.choices, default=SecurityChoices.TLS
    )
    username = models.CharField(_("username"), max_length=255)
    password = EncryptedTextField(_("password"), blank=True, default="", editable=False)
    leave_copy = models.BooleanField(_("leave a copy of retrieved messages on the server"), default=True)
    delete_after_days = models.PositiveIntegerField(
        _("delete from the server after this many days"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
    )
    target = models.CharField(
        _("label incoming messages"), max_length=10, choices=Target.choices, default=Target.INBOX
    )
    # IMAP: the folders to import, one full name a line; empty for all (but Trash and Junk).
    folders = models.TextField(_("folders"), blank=True, default="")
    mark_seen = models.BooleanField(_("mark imported messages as read"), default=False)
    interval_minutes = models.PositiveIntegerField(_("check"), choices=INTERVAL_CHOICES, default=15)
    enabled = models.BooleanField(_("enabled"), default=True)
    paused_reason = models.CharField(
        _("paused"), max_length=10, choices=Paused.choices, default=Paused.NO, blank=True
    )

    # Status, written by the import.
    created = models.DateTimeField(_("added"), auto_now_add=True)
    last_run_at = models.DateTimeField(_("last check"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last successful check"), null=True, blank=True)
    next_run_at = models.DateTimeField(_("next check"), null=True, blank=True, db_index=True)
    last_imported = models.PositiveIntegerField(_("imported by the last check"), default=0)
    total_imported = models.PositiveBigIntegerField(_("imported in total"), default=0)
    last_error = models.TextField(_("last error"), blank=True, default="")
    failures = models.PositiveIntegerField(_("failed checks in a row"), default=0)
    auth_failures = models.PositiveIntegerField(_("refused sign-ins in a row"), default=0)
    # A check is queued for this account since then (cleared when its run starts). The
    # queue's claim: the dispatcher queues an account once, and never moves its next check.
    queued_at = models.DateTimeField(_("check queued"), null=True, blank=True, editable=False)
    # The import of the mail waiting on the server, followed across runs (the cap, a crash,
    # a lost connection split it): since when, how many in all, how many done.
    backlog_since = models.DateTimeField(_("importing since"), null=True, blank=True, editable=False)
    backlog_total = models.PositiveIntegerField(_("messages to import"), default=0, editable=False)
    backlog_done = models.PositiveIntegerField(_("messages imported so far"), default=0, editable=False)

    class Meta:
        db_table = "accounts_externalaccount"
        verbose_name = _("external mail account")
        verbose_name_plural = _("external mail accounts")
        ordering = ["email", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "host", "port", "username"],
                name="external_account_once_per_user",
                violation_error_message=_("You already check this account."),
            ),
        ]

    # The password goes only to the POP3 server, port, TLS mode and login it was typed for.
    SECRET_BINDING = SecretBinding("password", ("protocol", "host", "port", "security", "username"))

    def __str__(self) -> str:
        return self.email

    def pop_endpoint(self) -> Endpoint:
        # Certificates of external servers are always verified: a user cannot opt out.
        return Endpoint(
            self.host,
            self.port,
            Security(self.security),
            tls_verify=True,
            ca_file=settings.WEBMAIL_TLS_CA_FILE,
            timeout=settings.WEBMAIL_POP_TIMEOUT,
        )

    @property
    def uses_oauth(self) -> bool:
        """Signs in with an OAuth 2.0 grant (``OAuthGrant``) instead of a password."""
        try:
            return self.oauth_grant is not None
        except ObjectDoesNotExist:
            return False

    @property
    def is_imap(self) -> bool:
        return self.protocol == self.Protocol.IMAP

    @property
    def is_archive(self) -> bool:
        return self.protocol == self.Protocol.ARCHIVE

    @property
    def chosen_folders(self) -> list[str]:
        """IMAP: the folders the user chose; [] for all of them."""
        return [name.strip() for name in self.folders.splitlines() if name.strip()]

    @property
    def target_label(self) -> str | None:
        """None for the inbox; else the name of the folder to file imported mail in."""
        return None if self.target == self.Target.INBOX else self.email


class LedgerEntry(models.Model):
    """One message of an external account, by UIDL: the record that makes import exactly-once.

    ``pending`` is written and committed before the APPEND; ``stored`` after it.
    A message is deleted from the POP3 server only once its row says stored.
    A pending row left by an interrupted run makes the next run look for the
    message in the target folder before storing it again.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("being stored")
        STORED = "stored", _("stored")
        DUPLICATE = "duplicate", _("already in the mailbox")
        SKIPPED = "skipped", _("skipped")

    account = models.ForeignKey(ExternalAccount, on_delete=models.CASCADE, related_name="ledger")
    uidl = models.CharField(_("UIDL"), max_length=255)
    state = models.CharField(_("state"), max_length=10, choices=State.choices)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    message_id = models.CharField(_("Message-ID"), max_length=255, blank=True, default="")
    folder = models.CharField(_("folder"), max_length=255, blank=True, default="")
    # The target folder's UIDVALIDITY and UIDNEXT when the intent was written:
    # a copy stored by an interrupted run can only have a UID from there on.
    uidvalidity = models.PositiveBigIntegerField(null=True, blank=True)
    uid_floor = models.PositiveBigIntegerField(null=True, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True, default="")
    first_seen = models.DateTimeField(_("first seen"), auto_now_add=True)
    stored_at = models.DateTimeField(_("stored"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("deleted from the server"), null=True, blank=True)

    class Meta:
        db_table = "accounts_ledgerentry"
        verbose_name = _("UIDL ledger entry")
        verbose_name_plural = _("UIDL ledger")
        constraints = [
            models.UniqueConstraint(fields=["account", "uidl"], name="ledger_one_row_per_uidl"),
        ]
        indexes = [models.Index(fields=["account", "state"], name="ledger_account_state")]

    def __str__(self) -> str:
        return f"{self.uidl} ({self.state})"


class FetchRun(models.Model):
    """One check of an external account. A ``running`` row is also the account's lock.

    A partial unique constraint allows one running run per account; the row's
    ``lease_until`` is renewed every few seconds while the run is alive and in
    every ledger transaction, and a run whose lease has lapsed (its worker was
    killed) is marked interrupted by the next.
    """

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        OK = "ok", _("done")
        PARTIAL = "partial", _("done, more to fetch")
        FAILED = "failed", _("failed")
        INTERRUPTED = "interrupted", _("interrupted")

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("schedule")
        USER = "user", _("“Check mail now”")
        ADMIN = "admin", _("admin")
        RESUME = "resume", _("more waiting, or taking over a stopped check")
        OTHER = "other", _("other")

    account = models.ForeignKey(ExternalAccount, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(_("trigger"), max_length=10, choices=Trigger.choices, default=Trigger.OTHER)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # When the lease was last renewed: a live run renews it every few seconds (``runlock``).
    renewed_at = models.DateTimeField(null=True, blank=True)
    on_server = models.PositiveIntegerField(_("messages on the server"), default=0)
    imported = models.PositiveIntegerField(_("imported"), default=0)
    duplicates = models.PositiveIntegerField(_("already in the mailbox"), default=0)
    skipped = models.PositiveIntegerField(_("skipped (too large)"), default=0)
    deleted = models.PositiveIntegerField(_("deleted from the server"), default=0)
    remaining = models.PositiveIntegerField(_("left for the next check"), default=0)
    error = models.TextField(_("error"), blank=True, default="")

    class Meta:
        db_table = "accounts_fetchrun"
        verbose_name = _("import run")
        verbose_name_plural = _("import runs")
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=models.Q(status="running"),
                name="fetchrun_one_running_per_account",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} @ {self.started_at:%Y-%m-%d %H:%M:%S}"


class ArchiveUpload(models.Model):
    """A mailbox archive (an .mbox: Gmail Takeout, Thunderbird) uploaded in chunks, then imported.

    Every upload of a user feeds the user's one archive account (``ExternalAccount`` of
    protocol "archive"), so the import engine runs it like any source, and its ledger,
    keyed by Message-ID and body hash, spans every upload: the same archive uploaded
    twice stores nothing twice.
    """

    class Status(models.TextChoices):
        UPLOADING = "uploading", _("uploading")
        READY = "ready", _("waiting to be imported")
        IMPORTING = "importing", _("importing")
        DONE = "done", _("imported")
        CANCELLED = "cancelled", _("cancelled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="archive_uploads"
    )
    account = models.ForeignKey(ExternalAccount, on_delete=models.CASCADE, related_name="uploads")
    filename = models.CharField(_("file"), max_length=255)
    size = models.PositiveBigIntegerField(_("size"))
    received = models.PositiveBigIntegerField(_("received"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.UPLOADING)
    created = models.DateTimeField(_("started"), auto_now_add=True)
    updated = models.DateTimeField(_("last chunk"), auto_now=True)
    finished_at = models.DateTimeField(_("imported"), null=True, blank=True)
    # Found by the import's first pass over the file.
    messages = models.PositiveIntegerField(_("messages"), default=0)
    repeated = models.PositiveIntegerField(_("repeated in the archive"), default=0)
    already = models.PositiveIntegerField(_("already in the mailbox"), default=0)
    broken = models.PositiveIntegerField(_("broken"), default=0)
    # The first broken messages: "position: reason: subject — sender", one a line.
    broken_list = models.TextField(_("broken messages"), blank=True, default="")

    class Meta:
        verbose_name = _("archive upload")
        verbose_name_plural = _("archive uploads")
        ordering = ["created"]

    def __str__(self) -> str:
        return self.filename


class OAuthProvider(models.Model):
    """An OAuth 2.0 client the admin registered with a mail provider (Google, Microsoft...).

    Users then "Connect with" it when adding a POP3 or IMAP account on one of its
    ``mail_hosts``, instead of typing a password. The client secret is stored
    encrypted and only ever sent to the token and revocation endpoints it was given for.
    """

    class Mechanism(models.TextChoices):
        XOAUTH2 = "XOAUTH2", "XOAUTH2"
        OAUTHBEARER = "OAUTHBEARER", _("OAUTHBEARER (RFC 7628)")

    name = models.CharField(
        _("name"), max_length=80, unique=True, help_text=_("Shown on the button: “Connect with …”.")
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    client_id = models.CharField(_("client ID"), max_length=255)
    client_secret = EncryptedTextField(_("client secret"), blank=True, default="", editable=False)
    authorization_endpoint = models.URLField(_("authorization endpoint"), max_length=500)
    token_endpoint = models.URLField(_("token endpoint"), max_length=500)
    revocation_endpoint = models.URLField(_("revocation endpoint"), max_length=500, blank=True, default="")
    scopes = models.CharField(_("scopes"), max_length=500, help_text=_("Separated by spaces."))
    # Added to the authorization request (Google: access_type=offline&prompt=consent, for a refresh token).
    authorization_params = models.CharField(
        _("extra authorization parameters"), max_length=255, blank=True, default=""
    )
    mechanism = models.CharField(
        _("SASL mechanism"), max_length=12, choices=Mechanism.choices, default=Mechanism.XOAUTH2
    )
    mail_hosts = models.TextField(
        _("mail servers"),
        help_text=_("The POP3 and IMAP servers its tokens are for, one a line (for example imap.gmail.com)."),
    )

    class Meta:
        verbose_name = _("OAuth provider")
        verbose_name_plural = _("OAuth providers")
        ordering = ["name"]

    # The client secret goes only to the endpoints and client it was typed for.
    SECRET_BINDING = SecretBinding("client_secret", ("client_id", "token_endpoint", "revocation_endpoint"))

    def __str__(self) -> str:
        return self.name

    @property
    def hosts(self) -> list[str]:
        return [h.strip().lower().rstrip(".") for h in self.mail_hosts.split() if h.strip()]

    def serves(self, host: str) -> bool:
        return host.strip().lower().rstrip(".") in self.hosts


class OAuthGrant(models.Model):
    """The tokens an account signs in with, from the user's "Connect with …".

    Bound where they were given: ``bound_to`` is the mail server, port, TLS mode and
    login, and ``token_endpoint`` where the refresh token may be sent. A change of
    either (the account edited, the provider re-pointed) needs a new "Connect".
    """

    account = models.OneToOneField(ExternalAccount, on_delete=models.CASCADE, related_name="oauth_grant")
    provider = models.ForeignKey(OAuthProvider, on_delete=models.CASCADE, related_name="grants")
    access_token = EncryptedTextField(_("access token"), blank=True, default="", editable=False)
    refresh_token = EncryptedTextField(_("refresh token"), blank=True, default="", editable=False)
    expires_at = models.DateTimeField(_("access token expires"), null=True, blank=True)
    scope = models.CharField(_("scope"), max_length=500, blank=True, default="")
    bound_to = models.CharField(max_length=600, editable=False)
    token_endpoint = models.URLField(max_length=500, editable=False)
    created = models.DateTimeField(_("connected"), auto_now_add=True)
    refreshed_at = models.DateTimeField(_("last refreshed"), null=True, blank=True)

    class Meta:
        verbose_name = _("OAuth grant")
        verbose_name_plural = _("OAuth grants")

    def __str__(self) -> str:
        return f"{self.account} ({self.provider})"
