"""Settings, Notifications (the section ``preferences.sections`` names "notifications:index")."""

from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("", views.settings_view, name="index"),
    path("subscribe/", views.subscribe_view, name="subscribe"),
    path("unsubscribe/", views.unsubscribe_view, name="unsubscribe"),
    path("<int:pk>/remove/", views.remove_view, name="remove"),
]
