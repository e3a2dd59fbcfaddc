"""Admin of send-as identities: admins look and can disable."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin import stored_state

from .models import Identity


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
