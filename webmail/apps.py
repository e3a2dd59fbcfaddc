from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebmailConfig(AppConfig):
    name = "webmail"
    verbose_name = _("Webmail")

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
