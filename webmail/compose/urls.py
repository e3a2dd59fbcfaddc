from django.urls import path

from . import views

app_name = "compose"

urlpatterns = [
    path("", views.compose_view, name="write"),
    path("addresses/", views.addresses_view, name="addresses"),
    path("upload/", views.upload_view, name="upload"),
    path("upload/discard/", views.discard_view, name="discard"),
]
