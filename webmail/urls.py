from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from webmail.views import auth, mailbox

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="mailbox", permanent=False)),
    path("login/", auth.login_view, name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("mail/", mailbox.mailbox_view, name="mailbox"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
