from django.urls import path

from . import views

app_name = "filters"

# Mounted under settings/filters/.
urlpatterns = [
    path("", views.index_view, name="index"),
    path("new/", views.filter_new_view, name="new"),
    path("<int:index>/edit/", views.filter_edit_view, name="edit"),
    path("<int:index>/<str:op>/", views.filter_change_view, name="change"),
    path("vacation/", views.vacation_view, name="vacation"),
    path("vacation/banner/", views.banner_view, name="banner"),
    path("script/", views.raw_view, name="raw"),
    path("forwarding/add/", views.forward_add_view, name="forward_add"),
    path("forwarding/<int:pk>/code/", views.forward_code_view, name="forward_code"),
    path("forwarding/<int:pk>/resend/", views.forward_resend_view, name="forward_resend"),
    path("forwarding/<int:pk>/remove/", views.forward_remove_view, name="forward_remove"),
    path("forwarding/confirm/<str:token>/", views.forward_confirm_view, name="forward_confirm"),
    path("jobs/<int:pk>/", views.job_view, name="job"),
]
