from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    """Mail imported from the user's other accounts (POP3 today; see ``sources``)."""

    name = "webmail.imports"
    label = "imports"
    verbose_name = _("Check mail from other accounts")
    default_auto_field = "django.db.models.BigAutoField"
