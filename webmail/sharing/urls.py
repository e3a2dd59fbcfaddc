from django.urls import path

from . import views

app_name = "sharing"

urlpatterns = [
    path("", views.index_view, name="index"),
    path("folder/", views.folder_view, name="folder"),
]
