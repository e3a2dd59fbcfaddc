from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComposeConfig(AppConfig):
    name = "webmail.compose"
    label = "compose"
    verbose_name = _("Compose")
    default_auto_field = "django.db.models.BigAutoField"
