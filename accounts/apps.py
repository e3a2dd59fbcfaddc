from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and mail servers")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from .session import on_user_logged_in

        # Admin (ModelBackend) sign-ins never reach our login view: stamp the
        # absolute session lifetime on every login, whichever view did it.
        user_logged_in.connect(on_user_logged_in, dispatch_uid="accounts.stamp_login")
