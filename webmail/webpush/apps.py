from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebPushConfig(AppConfig):
    """The installable app (manifest, service worker, offline page) and Web Push for new inbox mail."""

    name = "webmail.webpush"
    label = "webpush"
    verbose_name = _("Installable app and push notifications")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from webmail.push.signals import mailbox_changed

        from .receivers import on_mailbox_changed

        mailbox_changed.connect(on_mailbox_changed, dispatch_uid="webpush.new_inbox_mail")
