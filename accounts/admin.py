from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from webmail.mailaccess.probe import probe_imap, probe_smtp

from .backends import is_mailbox_user
from .fields import secret_unreadable
from .mailbox_overview import mailbox_overview
from .models import CredentialAttempt, MailAccount, MailServer


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
        (gettext_lazy("Filters (ManageSieve)"), {"fields": ("managesieve_port", "managesieve_security")}),
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
        "mailbox_on_server",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=gettext_lazy("quota and shared folders (read from the server)"))
    def mailbox_on_server(self, obj: MailAccount) -> SafeString:
        """For support: asked of the server when the page opens (GETQUOTAROOT, GETACL), never stored."""
        overview = mailbox_overview(obj)
        if overview.problem:
            return format_html("<p>{}</p>", overview.problem)
        quota = format_html_join(
            "",
            "<p>{}: {} / {} ({} %)</p>",
            ((q.root or q.resource, q.used, q.limit, q.percent) for q in overview.quotas),
        ) or format_html("<p>{}</p>", _("The server reports no quota."))
        if not overview.sharing_offered:
            shares = format_html("<p>{}</p>", _("The server does not offer shared folders."))
        elif not overview.shares:
            shares = format_html("<p>{}</p>", _("Shares no folder."))
        else:
            shares = format_html_join(
                "",
                "<p>{}: {}</p>",
                (
                    (folder, ", ".join(f"{who} ({rights})" for who, rights in grants))
                    for folder, grants in overview.shares
                ),
            )
        return format_html("{}{}", quota, shares)

    @admin.display(boolean=True, description=gettext_lazy("stored credential"))
    def has_stored_credential(self, obj: MailAccount) -> bool | None:
        return stored_state(obj.imap_password)


# --- Local accounts and mailbox users -------------------------------------------


class LocalOrMailboxUserChangeForm(UserChangeForm):
    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
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
    # Django's own columns (UserAdmin.list_display, written out: the stubs type it per model), then ours.
    list_display = ("username", "email", "first_name", "last_name", "is_staff", "mailbox_user")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("mail_account")

    @admin.display(boolean=True, description=gettext_lazy("mailbox user"))
    def mailbox_user(self, obj: Any) -> bool:
        account = getattr(obj, "mail_account", None)
        return account is not None and account.is_mailbox_user


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written by the application only (imports, the credential throttle); the admin looks."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


# --- Credentials tried on users' behalf (accounts/throttle.py) -----------------


@admin.register(CredentialAttempt)
class CredentialAttemptAdmin(ReadOnlyAdmin):
    """Connection tests with what users typed (POP3 accounts, send-as SMTP servers): who, where, what."""

    list_display = ("at", "user", "kind", "username", "host", "port", "outcome", "client_ip")
    list_filter = ("outcome", "kind", "at")
    search_fields = ("user__username", "host", "username", "client_ip")
    list_select_related = ("user",)
    date_hierarchy = "at"
