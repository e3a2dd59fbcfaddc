"""Admin of the import: external accounts (with their history), runs and the ledger."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin import ReadOnlyAdmin, stored_state
from accounts.formfields import write_only_password

from .models import ArchiveUpload, ExternalAccount, FetchRun, LedgerEntry, OAuthGrant, OAuthProvider


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
            "folders",
            "mark_seen",
            "interval_minutes",
            "next_run_at",
        ]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
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
        "protocol",
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
    list_filter = ("protocol", "enabled", "paused_reason", "security", "leave_copy", "target", "mark_seen")
    search_fields = ("email", "host", "username", "user__username")
    raw_id_fields = ("user",)
    readonly_fields = (
        # POP3 and IMAP keep different ledgers: an account does not change protocol.
        "protocol",
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
            gettext_lazy("Server"),
            {"fields": ("protocol", "host", "port", "security", "username", "has_password", "new_password")},
        ),
        (
            gettext_lazy("Fetching"),
            {
                "fields": (
                    "leave_copy",
                    "delete_after_days",
                    "target",
                    "folders",
                    "mark_seen",
                    "interval_minutes",
                )
            },
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
        from .actions import CheckNow, check_now

        outcomes = [check_now(account=a, trigger=FetchRun.Trigger.ADMIN) for a in queryset]
        queued = [o for o in outcomes if o != CheckNow.PAUSED]
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
        count = queryset.update(enabled=False, paused_reason=ExternalAccount.Paused.USER, queued_at=None)
        self.message_user(request, _("Paused %(count)d account(s).") % {"count": count})

    @admin.action(description=gettext_lazy("Resume (and check now)"))
    def resume_accounts(self, request: HttpRequest, queryset: QuerySet[ExternalAccount]) -> None:
        from .actions import account_resume

        for account in queryset:
            account_resume(account=account)
        self.message_user(request, _("Resumed %(count)d account(s).") % {"count": queryset.count()})


@admin.register(FetchRun)
class FetchRunAdmin(ReadOnlyAdmin):
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
class LedgerEntryAdmin(ReadOnlyAdmin):
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


@admin.register(ArchiveUpload)
class ArchiveUploadAdmin(ReadOnlyAdmin):
    list_display = (
        "filename",
        "user",
        "size",
        "received",
        "status",
        "messages",
        "already",
        "repeated",
        "broken",
        "created",
        "finished_at",
    )
    list_filter = ("status",)
    search_fields = ("filename", "user__username")
    list_select_related = ("user",)


# ---------------------------------------------------------------- OAuth 2.0 providers


def _https_urls(db_field: Any, **kwargs: Any) -> Any:
    # An endpoint typed without a scheme is https (Django 6's default; no warning until then).
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


class OAuthProviderAdminForm(forms.ModelForm):
    # The stored client secret is never sent to the browser: this field only sets a new one.
    new_client_secret = write_only_password(
        gettext_lazy("client secret"),
        help_text=gettext_lazy("Write-only. Leave empty to keep the stored secret, which is never shown."),
    )

    class Meta:
        model = OAuthProvider
        fields = [
            "name",
            "enabled",
            "client_id",
            "authorization_endpoint",
            "token_endpoint",
            "revocation_endpoint",
            "scopes",
            "authorization_params",
            "mechanism",
            "mail_hosts",
        ]
        widgets = {"mail_hosts": forms.Textarea(attrs={"rows": 3, "spellcheck": "false"})}
        formfield_callback = _https_urls

    def clean_mail_hosts(self) -> str:
        hosts = [h.strip().lower().rstrip(".") for h in self.cleaned_data["mail_hosts"].split() if h.strip()]
        if not hosts or any(c in h for h in hosts for c in "/@:[]"):
            raise forms.ValidationError(_("List the server names, one a line, for example imap.gmail.com."))
        return "\n".join(dict.fromkeys(hosts))

    def clean(self) -> dict[str, Any]:
        super().clean()
        # The client secret only goes where it was given: new endpoints or client id need it again.
        OAuthProvider.SECRET_BINDING.require_retyped_secret(self, typed_field="new_client_secret")
        return self.cleaned_data


@admin.register(OAuthProvider)
class OAuthProviderAdmin(admin.ModelAdmin):
    """Add one from a preset with ``?preset=google`` or ``?preset=microsoft`` (links on the add page)."""

    form = OAuthProviderAdminForm
    list_display = ("name", "enabled", "client_id", "mechanism", "hosts_list", "has_secret")
    readonly_fields = ("has_secret", "redirect_uri")
    fieldsets = (
        (None, {"fields": ("name", "enabled", "redirect_uri")}),
        (gettext_lazy("Client"), {"fields": ("client_id", "has_secret", "new_client_secret")}),
        (
            gettext_lazy("Provider"),
            {
                "fields": (
                    "authorization_endpoint",
                    "token_endpoint",
                    "revocation_endpoint",
                    "scopes",
                    "authorization_params",
                    "mechanism",
                    "mail_hosts",
                )
            },
        ),
    )

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if isinstance(db_field, models.URLField):
            kwargs.setdefault("assume_scheme", "https")
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(boolean=True, description=gettext_lazy("client secret stored"))
    def has_secret(self, obj: OAuthProvider) -> bool | None:
        return stored_state(obj.client_secret)

    @admin.display(description=gettext_lazy("mail servers"))
    def hosts_list(self, obj: OAuthProvider) -> str:
        return ", ".join(obj.hosts)

    @admin.display(description=gettext_lazy("redirect URI to register with the provider"))
    def redirect_uri(self, obj: OAuthProvider | None) -> str:
        return _("this site's address followed by %(path)s") % {"path": reverse("imports:oauth_callback")}

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        from .oauth import PRESETS

        initial = dict(super().get_changeform_initial_data(request))
        initial.update(PRESETS.get(request.GET.get("preset", ""), {}))
        return initial

    def save_model(
        self, request: HttpRequest, obj: OAuthProvider, form: forms.ModelForm, change: bool
    ) -> None:
        secret = form.cleaned_data.get("new_client_secret")
        if secret:
            obj.client_secret = secret
        obj.save()


@admin.register(OAuthGrant)
class OAuthGrantAdmin(ReadOnlyAdmin):
    """Who is connected with which provider. The tokens themselves are never shown."""

    list_display = ("account", "provider", "expires_at", "refreshed_at", "created")
    fields = ("account", "provider", "scope", "expires_at", "refreshed_at", "created")
    list_select_related = ("account", "provider")
    search_fields = ("account__email", "account__user__username")
