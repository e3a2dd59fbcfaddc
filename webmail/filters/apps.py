from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FiltersConfig(AppConfig):
    """Filters and the vacation reply: Sieve rules kept on the mail server, edited over ManageSieve."""

    name = "webmail.filters"
    label = "filters"
    verbose_name = _("Filters and vacation reply")
    default_auto_field = "django.db.models.BigAutoField"
