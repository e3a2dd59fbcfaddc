from django.urls import path

from . import views

app_name = "push"

urlpatterns = [
    # Served by the ASGI service (webmail/asgi.py); the balancer routes this path there.
    path("stream/", views.stream_view, name="stream"),
    path("dovecot/", views.dovecot_view, name="dovecot"),
    path("summary/", views.summary_view, name="summary"),
]
