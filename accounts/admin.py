from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from webmail.formfields import write_only_password
from webmail.mailaccess.probe import probe_imap, probe_smtp

from .backends import is_mailbox_user
from .fields import secret_unreadable
from .models import (
    CredentialAttempt,
    ExternalAccount,
    FetchRun,
    Identity,
    LedgerEntry,
    MailAccount,
    MailServer,
)


def stored_state(secret: str) -> bool | None:
    """Yes, no, or unknown (the admin's "?" icon): stored but unreadable with the current keys."""
    return None if secret_unreadable(secret) else bool(secret)


@admin.register(MailServer)
class MailServerAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "domains",
        "imap_host",
        "imap_port",
        "imap_security",
        "smtp_host",
        "smtp_port",
        "tls_verify",
        "enabled",
    )
    list_filter = ("enabled", "tls_verify")
    search_fields = ("name", "domains", "imap_host", "smtp_host")
    actions = ["test_connection"]
    fieldsets = (
        (None, {"fields": ("name", "domains", "enabled")}),
        (gettext_lazy("IMAP"), {"fields": ("imap_host", "imap_port", "imap_security")}),
        (gettext_lazy("SMTP"), {"fields": ("smtp_host", "smtp_port", "smtp_security", "send_as_domains")}),
        (gettext_lazy("TLS"), {"fields": ("tls_verify",)}),
    )

    def save_model(self, request: HttpRequest, obj: MailServer, form: object, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not obj.tls_verify:
            self.message_user(
                request,
                _("TLS certificates of %(name)s are NOT verified: use this only for a server you trust.")
                % {"name": obj.name},
                level=messages.WARNING,
            )

    @admin.action(description=gettext_lazy("Test connection (IMAP and SMTP)"))
    def test_connection(self, request: HttpRequest, queryset: QuerySet[MailServer]) -> None:
        for server in queryset:
            for label, result in (
                ("IMAP", probe_imap(server.imap_endpoint())),
                ("SMTP", probe_smtp(server.smtp_endpoint())),
            ):
                level = messages.SUCCESS if result.ok else messages.ERROR
                self.message_user(
                    request,
                    _("%(server)s, %(protocol)s: %(result)s")
                    % {"server": server.name, "protocol": label, "result": result.message},
                    level=level,
                )


@admin.register(MailAccount)
class MailAccountAdmin(admin.ModelAdmin):
    """Made by the IMAP sign-in, which also picks the server by the address's domain: the admin looks.

    Attaching a mailbox to another user would make that user a mailbox user (or a local
    account a mailbox), and a new server would receive the stored password: neither is offered.
    """

    list_display = ("email", "server", "is_mailbox_user", "has_stored_credential", "created", "last_login")
    search_fields = ("email",)
    list_filter = ("server", "is_mailbox_user")
    fields = readonly_fields = (
        "user",
        "email",
        "server",
        "is_mailbox_user",
        "has_stored_credential",
        "created",
        "last_login",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(boolean=True, description=gettext_lazy("stored credential"))
    def has_stored_credential(self, obj: MailAccount) -> bool | None:
        return stored_state(obj.imap_password)


# --- Local accounts and mailbox users -------------------------------------------


class LocalOrMailboxUserChangeForm(UserChangeForm):
    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.instance.pk and is_mailbox_user(self.instance):
            if data.get("is_staff") or data.get("is_superuser"):
                raise forms.ValidationError(
                    _(
                        "This user signs in with a mailbox password and cannot be staff. "
                        "Create a separate local account for the admin (manage.py createsuperuser)."
                    )
                )
        return data


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class LocalOrMailboxUserAdmin(UserAdmin):
    """Django's user admin, with mailbox users kept apart from local (admin) accounts."""

    form = LocalOrMailboxUserChangeForm
    list_display = (*UserAdmin.list_display, "mailbox_user")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("mail_account")

    @admin.display(boolean=True, description=gettext_lazy("mailbox user"))
    def mailbox_user(self, obj: Any) -> bool:
        account = getattr(obj, "mail_account", None)
        return account is not None and account.is_mailbox_user


# --- POP3 import (webmail/popimport) ------------------------------------------


class ExternalAccountAdminForm(forms.ModelForm):
    # The stored password is never sent to the browser: this field only sets a new one.
    new_password = write_only_password(
        gettext_lazy("new password"),
        help_text=gettext_lazy("Write-only. Leave empty to keep the stored password, which is never shown."),
    )

    class Meta:
        model = ExternalAccount
        # Not the encrypted password: it is not editable, and the admin never shows it.
        fields = [
            "user",
            "email",
            "enabled",
            "paused_reason",
            "host",
            "port",
            "security",
            "username",
            "leave_copy",
            "delete_after_days",
            "target",
            "mark_seen",
            "interval_minutes",
            "next_run_at",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        # The stored password only goes where it was given: a new server or login needs it again.
        ExternalAccount.SECRET_BINDING.require_retyped_secret(self, typed_field="new_password")
        return data


class FetchRunInline(admin.TabularInline):
    model = FetchRun
    verbose_name_plural = gettext_lazy("import history (newest first)")
    extra = 0
    can_delete = False
    ordering = ("-started_at", "-pk")
    fields = readonly_fields = (
        "started_at",
        "finished_at",
        "trigger",
        "status",
        "on_server",
        "imported",
        "duplicates",
        "skipped",
        "deleted",
        "remaining",
        "error",
    )

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ExternalAccount)
class ExternalAccountAdmin(admin.ModelAdmin):
    form = ExternalAccountAdminForm
    list_display = (
        "email",
        "user",
        "host",
        "port",
        "security",
        "enabled",
        "paused_reason",
        "last_run_at",
        "last_imported",
        "total_imported",
        "next_run_at",
        "short_error",
    )
    list_filter = ("enabled", "paused_reason", "security", "leave_copy", "target", "mark_seen")
    search_fields = ("email", "host", "username", "user__username")
    raw_id_fields = ("user",)
    readonly_fields = (
        "has_password",
        "created",
        "last_run_at",
        "last_success_at",
        "last_imported",
        "total_imported",
        "last_error",
        "failures",
        "auth_failures",
    )
    fieldsets = (
        (None, {"fields": ("user", "email", "enabled", "paused_reason")}),
        (
            gettext_lazy("POP3 server"),
            {"fields": ("host", "port", "security", "username", "has_password", "new_password")},
        ),
        (
            gettext_lazy("Fetching"),
            {"fields": ("leave_copy", "delete_after_days", "target", "mark_seen", "interval_minutes")},
        ),
        (
            gettext_lazy("Status"),
            {
                "fields": (
                    "next_run_at",
                    "last_run_at",
                    "last_success_at",
                    "last_imported",
                    "total_imported",
                    "last_error",
                    "failures",
                    "auth_failures",
                    "created",
                )
            },
        ),
    )
    inlines = [FetchRunInline]
    actions = ["fetch_now", "pause_accounts", "resume_accounts"]

    @admin.display(boolean=True, description=gettext_lazy("password stored"))
    def has_password(self, obj: ExternalAccount) -> bool | None:
        return stored_state(obj.password)

    @admin.display(description=gettext_lazy("last error"))
    def short_error(self, obj: ExternalAccount) -> str:
        return obj.last_error[:80] + ("…" if len(obj.last_error) > 80 else "")

    def save_model(
        self, request: HttpRequest, obj: ExternalAccount, form: forms.ModelForm, change: bool
    ) -> None:
        password = form.cleaned_data.get("new_password")
        if password:
            obj.password = password
        if not change:
            obj.save()
            return
        # Only what the form edits: a running import writes the status fields meanwhile.
        names = {f.name for f in obj._meta.concrete_fields}
        fields = [name for name in form.fields if name in names]
        obj.save(update_fields=[*fields, "password"] if password else fields)

    @admin.action(description=gettext_lazy("Fetch now"))
    def fetch_now(self, request: HttpRequest, queryset: QuerySet[ExternalAccount]) -> None:
        from webmail.popimport.actions import check_now

        queued = [a for a in queryset if check_now(account=a, trigger=FetchRun.Trigger.ADMIN)]
        paused = queryset.count() - len(queued)
        if queued:
            self.message_user(request, _("Queued a check of %(count)d account(s).") % {"count": len(queued)})
        if paused:
            self.message_user(
                request,
                _("%(count)d paused account(s) were not checked; resume them first.") % {"count": paused},
                level=messages.WARNING,
            )

    @admin.action(description=gettext_lazy("Pause"))
    def pause_accounts(self, request: HttpRequest, queryset: QuerySet[ExternalAccount]) -> None:
        count = queryset.update(enabled=False, paused_reason=ExternalAccount.Paused.USER)
        self.message_user(request, _("Paused %(count)d account(s).") % {"count": count})

    @admin.action(description=gettext_lazy("Resume (and check now)"))
    def resume_accounts(self, request: HttpRequest, queryset: QuerySet[ExternalAccount]) -> None:
        from webmail.popimport.actions import account_resume

        for account in queryset:
            account_resume(account=account)
        self.message_user(request, _("Resumed %(count)d account(s).") % {"count": queryset.count()})


class _ReadOnlyAdmin(admin.ModelAdmin):
    """Written by the import only; the admin looks."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(FetchRun)
class FetchRunAdmin(_ReadOnlyAdmin):
    list_display = (
        "account",
        "started_at",
        "finished_at",
        "trigger",
        "status",
        "imported",
        "duplicates",
        "skipped",
        "deleted",
        "remaining",
        "error",
    )
    list_filter = ("status", "trigger")
    search_fields = ("account__email", "account__user__username")
    list_select_related = ("account",)
    date_hierarchy = "started_at"


@admin.register(LedgerEntry)
class LedgerEntryAdmin(_ReadOnlyAdmin):
    list_display = (
        "account",
        "uidl",
        "state",
        "message_id",
        "size",
        "folder",
        "stored_at",
        "deleted_at",
        "note",
    )
    list_filter = ("state",)
    search_fields = ("uidl", "message_id", "account__email")
    list_select_related = ("account",)


# --- Send mail as (webmail/sendas) --------------------------------------------


@admin.register(Identity)
class IdentityAdmin(admin.ModelAdmin):
    """Admins look and can disable; the user's settings (and SMTP password) are theirs."""

    list_display = (
        "user",
        "address",
        "display_name",
        "route",
        "smtp_host",
        "smtp_port",
        "smtp_security",
        "is_verified",
        "enabled",
        "created",
    )
    list_filter = ("enabled", "route", "smtp_security", ("verified_at", admin.EmptyFieldListFilter))
    search_fields = ("email", "display_name", "user__username", "smtp_host")
    list_select_related = ("user",)
    fields = (
        "user",
        "email",
        "display_name",
        "enabled",
        "route",
        "smtp_host",
        "smtp_port",
        "smtp_security",
        "smtp_username",
        "has_password",
        "verified_at",
        "verification_sent_at",
        "created",
    )
    readonly_fields = tuple(f for f in fields if f != "enabled")
    actions = ["disable_identities", "enable_identities"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # an address is added by its owner, who must prove it

    @admin.display(description=gettext_lazy("address"))
    def address(self, obj: Identity) -> str:
        return obj.email or _("(own address)")

    @admin.display(boolean=True, description=gettext_lazy("verified"))
    def is_verified(self, obj: Identity) -> bool:
        return obj.verified

    @admin.display(boolean=True, description=gettext_lazy("password stored"))
    def has_password(self, obj: Identity) -> bool | None:
        return stored_state(obj.smtp_password)

    @admin.action(description=gettext_lazy("Disable (can no longer send)"))
    def disable_identities(self, request: HttpRequest, queryset: QuerySet[Identity]) -> None:
        count = queryset.update(enabled=False)
        self.message_user(request, _("Disabled %(count)d identity(ies).") % {"count": count})

    @admin.action(description=gettext_lazy("Enable"))
    def enable_identities(self, request: HttpRequest, queryset: QuerySet[Identity]) -> None:
        count = queryset.update(enabled=True)
        self.message_user(request, _("Enabled %(count)d identity(ies).") % {"count": count})


# --- Credentials tried on users' behalf (accounts/throttle.py) -----------------


@admin.register(CredentialAttempt)
class CredentialAttemptAdmin(_ReadOnlyAdmin):
    """Connection tests with what users typed (POP3 accounts, send-as SMTP servers): who, where, what."""

    list_display = ("at", "user", "kind", "username", "host", "port", "outcome", "client_ip")
    list_filter = ("outcome", "kind", "at")
    search_fields = ("user__username", "host", "username", "client_ip")
    list_select_related = ("user",)
    date_hierarchy = "at"
