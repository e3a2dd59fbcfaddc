from django.urls import path

from . import folders, organise, quota, search, views

app_name = "mailbox"

urlpatterns = [
    path("mail/", views.mailbox_view, name="list"),
    path("mail/conversation/", views.conversation_view, name="conversation"),
    path("mail/poll/", views.poll_view, name="poll"),
    path("mail/quota/", quota.quota_view, name="quota"),
    path("mail/search/", search.search_view, name="search"),
    path("mail/actions/", organise.bulk_action_view, name="action"),
    path("mail/actions/undo/", organise.undo_view, name="undo"),
    path("mail/actions/star/", organise.star_view, name="star"),
    path("mail/actions/empty/", organise.empty_folder_view, name="empty"),
    path("settings/folders/", folders.folders_view, name="folders"),
]
