"""The installable app's files, at the site's root (a service worker's scope is its folder)."""

from django.urls import path

from . import views

app_name = "webapp"

urlpatterns = [
    path("manifest.webmanifest", views.manifest_view, name="manifest"),
    path("sw.js", views.service_worker_view, name="sw"),
    path("offline/", views.offline_view, name="offline"),
]
