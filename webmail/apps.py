from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebmailConfig(AppConfig):
    name = "webmail"
    verbose_name = _("Webmail")
