from django.urls import path

from inbox import views

urlpatterns = [
    path("inbox/", views.conversation_list, name="inbox"),
    path("inbox/c/<int:conversation_id>/", views.conversation_detail, name="conversation"),
    path(
        "inbox/c/<int:conversation_id>/triage/",
        views.conversation_triage,
        name="conversation_triage",
    ),
    path("inbox/m/<int:message_id>/html/", views.message_html_view, name="message_html"),
    path(
        "inbox/attachments/<int:attachment_id>/",
        views.attachment_download,
        name="attachment_download",
    ),
]

# Mailbox connection and health (inbox.views_mailboxes).
from inbox import views_mailboxes  # noqa: E402

urlpatterns += [
    path("mailboxes/", views_mailboxes.mailbox_list, name="mailboxes"),
    path("mailboxes/add/", views_mailboxes.mailbox_add, name="mailbox_add"),
    path("mailboxes/<int:mailbox_id>/", views_mailboxes.mailbox_edit, name="mailbox_edit"),
    path("mailboxes/<int:mailbox_id>/pause/", views_mailboxes.mailbox_pause, name="mailbox_pause"),
    path(
        "mailboxes/<int:mailbox_id>/delete/",
        views_mailboxes.mailbox_delete,
        name="mailbox_delete",
    ),
]
