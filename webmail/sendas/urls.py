from django.urls import path

from . import views

app_name = "sendas"

# Mounted under settings/: every way of editing an identity lives here.
urlpatterns = [
    path("identities/add/", views.signature_add_view, name="identity_add"),
    path("identities/<int:pk>/delete/", views.identity_delete_view, name="identity_delete"),
    path("send-as/add/", views.identity_add_view, name="add"),
    path("send-as/<int:pk>/edit/", views.identity_edit_view, name="edit"),
    path("send-as/<int:pk>/resend/", views.identity_resend_view, name="resend"),
    path("send-as/<int:pk>/code/", views.identity_verify_code_view, name="verify_code"),
    path("send-as/<int:pk>/verify/<str:token>/", views.identity_verify_link_view, name="verify_link"),
]
