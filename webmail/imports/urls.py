from django.urls import path

from . import views

app_name = "imports"

urlpatterns = [
    path("", views.account_list_view, name="list"),
    path("status/", views.account_status_view, name="status"),
    path("add/", views.account_add_view, name="add"),
    path("<int:pk>/edit/", views.account_edit_view, name="edit"),
    path("<int:pk>/pause/", views.account_pause_view, name="pause"),
    path("<int:pk>/resume/", views.account_resume_view, name="resume"),
    path("<int:pk>/check/", views.account_check_view, name="check"),
    path("<int:pk>/remove/", views.account_remove_view, name="remove"),
    path("<int:pk>/reconnect/", views.account_reconnect_view, name="reconnect"),
    path("oauth/callback/", views.oauth_callback_view, name="oauth_callback"),
    path("archives/", views.archive_start_view, name="archive_start"),
    path("archives/<uuid:pk>/", views.archive_state_view, name="archive_state"),
    path("archives/<uuid:pk>/chunk/", views.archive_chunk_view, name="archive_chunk"),
    path("archives/<uuid:pk>/cancel/", views.archive_cancel_view, name="archive_cancel"),
]
