from django.urls import path

from . import views

app_name = "reading"

urlpatterns = [
    path("", views.message_view, name="message"),
    path("conversation/", views.conversation_view, name="conversation"),
    path("body/", views.body_view, name="body"),
    path("part/", views.part_view, name="part"),
    path("raw/", views.raw_view, name="raw"),
    path("seen/", views.seen_view, name="seen"),
    path("trust-sender/", views.trust_sender_view, name="trust_sender"),
]
