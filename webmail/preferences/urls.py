from django.urls import path

from . import views

app_name = "preferences"

urlpatterns = [
    path("", views.preferences_view, name="index"),
    path("identities/", views.identities_view, name="identities"),
    path("device/", views.device_view, name="device"),
    path("trusted-senders/<int:pk>/forget/", views.forget_sender_view, name="forget_sender"),
]
