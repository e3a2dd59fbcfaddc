from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SendAsConfig(AppConfig):
    name = "webmail.sendas"
    label = "sendas"
    verbose_name = _("Send mail as")
    default_auto_field = "django.db.models.BigAutoField"
