from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReadingConfig(AppConfig):
    name = "webmail.reading"
    label = "reading"
    verbose_name = _("Reading")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connects the receivers that drop a user's cached reading choices on every change.
        from webmail.reading import choices  # noqa: F401
