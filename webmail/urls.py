from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from webmail.views import actions, auth, compose, mailbox, message, preferences, search

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="mailbox", permanent=False)),
    # Browsers still ask for /favicon.ico now and then (before the page's <link rel=icon> is read).
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("icons/favicon.svg"), permanent=True)),
    path("login/", auth.login_view, name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("mail/", mailbox.mailbox_view, name="mailbox"),
    path("mail/actions/", actions.bulk_action_view, name="mail_action"),
    path("mail/actions/undo/", actions.undo_view, name="mail_undo"),
    path("mail/actions/empty/", actions.empty_folder_view, name="mail_empty"),
    path("mail/poll/", actions.poll_view, name="mail_poll"),
    path("mail/conversation/", mailbox.conversation_view, name="mail_conversation"),
    path("mail/search/", search.search_view, name="mail_search"),
    path("settings/folders/", actions.folders_view, name="folders"),
    path("mail/compose/", compose.compose_view, name="compose"),
    path("mail/compose/addresses/", compose.addresses_view, name="compose_addresses"),
    path("mail/compose/upload/", compose.upload_view, name="compose_upload"),
    path("mail/compose/upload/discard/", compose.discard_view, name="compose_discard"),
    path("mail/message/", message.message_view, name="message"),
    path("mail/message/body/", message.body_view, name="message_body"),
    path("mail/message/part/", message.part_view, name="message_part"),
    path("mail/message/raw/", message.raw_view, name="message_raw"),
    path("mail/message/seen/", message.seen_view, name="message_seen"),
    path("mail/message/trust-sender/", message.trust_sender_view, name="trust_sender"),
    path("settings/", preferences.preferences_view, name="preferences"),
    path("settings/accounts/", include("webmail.imports.urls")),
    path(
        "settings/trusted-senders/<int:pk>/forget/",
        preferences.forget_sender_view,
        name="forget_sender",
    ),
    path("settings/send-as/", include("webmail.sendas.urls")),
    path("settings/identities/add/", preferences.identity_add_view, name="identity_add"),
    path("settings/identities/<int:pk>/delete/", preferences.identity_delete_view, name="identity_delete"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

# Every error page says what happened and offers the way back (webmail/views/errors.py).
handler400 = "webmail.views.errors.bad_request"
handler403 = "webmail.views.errors.permission_denied"
handler404 = "webmail.views.errors.page_not_found"
handler500 = "webmail.views.errors.server_error"
