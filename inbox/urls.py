from django.urls import path

from inbox import views, views_notifications, views_rules, views_triage

urlpatterns = [
    path("inbox/", views.conversation_list, name="inbox"),
    path("inbox/c/<id:conversation_id>/", views.conversation_detail, name="conversation"),
    path(
        "inbox/c/<id:conversation_id>/triage/",
        views_triage.conversation_triage,
        name="conversation_triage",
    ),
    path("inbox/m/<id:message_id>/html/", views.message_html_view, name="message_html"),
    path(
        "inbox/attachments/<id:attachment_id>/",
        views.attachment_download,
        name="attachment_download",
    ),
]

# Mailbox connection and health (inbox.views_mailboxes).
from inbox import views_mailboxes  # noqa: E402

urlpatterns += [
    path("mailboxes/", views_mailboxes.mailbox_list, name="mailboxes"),
    path("mailboxes/add/", views_mailboxes.mailbox_add, name="mailbox_add"),
    path("mailboxes/<id:mailbox_id>/", views_mailboxes.mailbox_edit, name="mailbox_edit"),
    path("mailboxes/<id:mailbox_id>/pause/", views_mailboxes.mailbox_pause, name="mailbox_pause"),
    path(
        "mailboxes/<id:mailbox_id>/delete/",
        views_mailboxes.mailbox_delete,
        name="mailbox_delete",
    ),
]

# Triage (inbox.views_triage), counts and the live conversation.
urlpatterns += [
    path("inbox/counts/", views.view_counts, name="inbox_counts"),
    path("inbox/bulk/", views_triage.conversations_bulk, name="conversations_bulk"),
    path("inbox/c/<id:conversation_id>/live/", views.conversation_live, name="conversation_live"),
]

# The composer, drafts, presence (inbox.views_compose) and saved replies (inbox.views_saved_replies).
from inbox import views_compose, views_saved_replies  # noqa: E402

urlpatterns += [
    path("inbox/new/", views_compose.compose_new, name="compose_new"),
    path(
        "inbox/c/<id:conversation_id>/composer/",
        views_compose.composer_slot,
        name="composer_slot",
    ),
    path(
        "inbox/c/<id:conversation_id>/reply/",
        views_compose.composer_open,
        name="composer_open",
    ),
    path(
        "inbox/c/<id:conversation_id>/presence/",
        views_compose.conversation_presence,
        name="conversation_presence",
    ),
    path("inbox/drafts/<id:outgoing_id>/", views_compose.draft_detail, name="draft"),
    path("inbox/drafts/<id:outgoing_id>/save/", views_compose.draft_save, name="draft_save"),
    path("inbox/drafts/<id:outgoing_id>/send/", views_compose.draft_send, name="draft_send"),
    path(
        "inbox/drafts/<id:outgoing_id>/files/",
        views_compose.draft_attachments,
        name="draft_attachments",
    ),
    path(
        "inbox/drafts/<id:outgoing_id>/discard/",
        views_compose.draft_discard,
        name="draft_discard",
    ),
    path(
        "inbox/drafts/<id:outgoing_id>/retry/",
        views_compose.outgoing_retry_view,
        name="outgoing_retry",
    ),
    path(
        "inbox/drafts/<id:outgoing_id>/undo/",
        views_compose.outgoing_undo_view,
        name="outgoing_undo",
    ),
    path(
        "inbox/saved-replies/<id:saved_reply_id>/insert/",
        views_compose.saved_reply_insert,
        name="saved_reply_insert",
    ),
    path("saved-replies/", views_saved_replies.saved_reply_list, name="saved_replies"),
    path("saved-replies/add/", views_saved_replies.saved_reply_add, name="saved_reply_add"),
    path(
        "saved-replies/<id:saved_reply_id>/",
        views_saved_replies.saved_reply_edit,
        name="saved_reply_edit",
    ),
    path(
        "saved-replies/<id:saved_reply_id>/delete/",
        views_saved_replies.saved_reply_remove,
        name="saved_reply_delete",
    ),
    path(
        "mailboxes/<id:mailbox_id>/signature/",
        views_mailboxes.mailbox_signature_edit,
        name="mailbox_signature",
    ),
]

# Gmail and Microsoft 365 over OAuth (inbox.views_oauth).
from inbox import views_oauth  # noqa: E402

urlpatterns += [
    path(
        "mailboxes/oauth/<str:provider>/connect/",
        views_oauth.oauth_connect,
        name="oauth_connect",
    ),
    path(
        "mailboxes/oauth/<str:provider>/callback/",
        views_oauth.oauth_callback,
        name="oauth_callback",
    ),
    path(
        "mailboxes/<id:mailbox_id>/oauth/reconnect/",
        views_oauth.oauth_reconnect,
        name="oauth_reconnect",
    ),
    path(
        "mailboxes/<id:mailbox_id>/oauth/disconnect/",
        views_oauth.oauth_disconnect,
        name="oauth_disconnect",
    ),
]

# Notifications, tags and rules.
urlpatterns += [
    path("inbox/notifications/", views_notifications.notification_list, name="notifications"),
    path(
        "inbox/notifications/read/",
        views_notifications.notifications_read,
        name="notifications_read",
    ),
    path(
        "inbox/notifications/settings/",
        views_notifications.notification_settings,
        name="notification_settings",
    ),
    path("inbox/tags/", views_rules.tags_manage, name="tags_manage"),
    path("inbox/tags/<id:tag_id>/", views_rules.tag_edit, name="tag_edit"),
    path("mailboxes/<id:mailbox_id>/rules/", views_rules.mailbox_rules, name="mailbox_rules"),
    path("mailboxes/rules/<id:rule_id>/", views_rules.rule_edit, name="rule_edit"),
]
