from django.urls import path

from . import views

app_name = "sendas"

urlpatterns = [
    path("add/", views.identity_add_view, name="add"),
    path("<int:pk>/edit/", views.identity_edit_view, name="edit"),
    path("<int:pk>/resend/", views.identity_resend_view, name="resend"),
    path("<int:pk>/code/", views.identity_verify_code_view, name="verify_code"),
    path("<int:pk>/verify/<str:token>/", views.identity_verify_link_view, name="verify_link"),
]
