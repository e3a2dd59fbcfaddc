from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SharingConfig(AppConfig):
    """Sharing folders with other people: access rights kept on the mail server (ACL, RFC 4314)."""

    name = "webmail.sharing"
    label = "sharing"
    verbose_name = _("Sharing")
    default_auto_field = "django.db.models.BigAutoField"
