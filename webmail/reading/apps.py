from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReadingConfig(AppConfig):
    name = "webmail.reading"
    label = "reading"
    verbose_name = _("Reading")
    default_auto_field = "django.db.models.BigAutoField"
