"""The site's URLs: each feature brings its own, under its own namespace."""

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="mailbox:list", permanent=False)),
    # Browsers still ask for /favicon.ico now and then (before the page's <link rel=icon> is read).
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("icons/favicon.svg"), permanent=True)),
    path("", include("accounts.urls")),
    # The installable app: manifest, service worker (scope: the whole site) and offline page.
    path("", include("webmail.webpush.app_urls")),
    path("", include("webmail.mailbox.urls")),
    path("mail/message/", include("webmail.reading.urls")),
    path("mail/compose/", include("webmail.compose.urls")),
    path("settings/", include("webmail.preferences.urls")),
    path("settings/accounts/", include("webmail.imports.urls")),
    path("settings/filters/", include("webmail.filters.urls")),
    path("settings/sharing/", include("webmail.sharing.urls")),
    path("settings/", include("webmail.sendas.urls")),
    path("push/", include("webmail.push.urls")),
    path("settings/notifications/", include("webmail.webpush.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

# Every error page says what happened and offers the way back (webmail/http/errors.py).
handler400 = "webmail.http.errors.bad_request"
handler403 = "webmail.http.errors.permission_denied"
handler404 = "webmail.http.errors.page_not_found"
handler500 = "webmail.http.errors.server_error"
