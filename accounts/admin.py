from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from webmail.mailaccess.probe import probe_imap, probe_smtp

from .models import MailAccount, MailServer


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
        (gettext_lazy("SMTP"), {"fields": ("smtp_host", "smtp_port", "smtp_security")}),
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
    list_display = ("email", "server", "has_stored_credential", "created", "last_login")
    search_fields = ("email",)
    list_filter = ("server",)
    readonly_fields = ("created", "last_login", "has_stored_credential")
    fields = ("user", "email", "server", "has_stored_credential", "created", "last_login")
    raw_id_fields = ("user",)

    @admin.display(boolean=True, description=gettext_lazy("stored credential"))
    def has_stored_credential(self, obj: MailAccount) -> bool:
        return bool(obj.imap_password)
