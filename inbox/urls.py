"""The inbox's pages, ordered by path."""

from django.urls import path

from inbox.views import (
    automatic,
    compose,
    conversation,
    lists,
    mailboxes,
    notifications,
    oauth,
    push,
    rules,
    saved_replies,
    triage,
)

urlpatterns = [
    path("hooks/gmail/", push.gmail_push, name="gmail_push"),
    path("hooks/graph/", push.graph_notifications, name="graph_notifications"),
    path("inbox/", lists.conversation_list, name="inbox"),
    path(
        "inbox/attachments/<id:attachment_id>/",
        conversation.attachment_download,
        name="attachment_download",
    ),
    path("inbox/bulk/", triage.conversations_bulk, name="conversations_bulk"),
    path("inbox/c/<id:conversation_id>/", conversation.conversation_detail, name="conversation"),
    path("inbox/c/<id:conversation_id>/composer/", compose.composer_slot, name="composer_slot"),
    path(
        "inbox/c/<id:conversation_id>/live/",
        conversation.conversation_live,
        name="conversation_live",
    ),
    path(
        "inbox/c/<id:conversation_id>/presence/",
        compose.conversation_presence,
        name="conversation_presence",
    ),
    path("inbox/c/<id:conversation_id>/reply/", compose.composer_open, name="composer_open"),
    path(
        "inbox/c/<id:conversation_id>/triage/",
        triage.conversation_triage,
        name="conversation_triage",
    ),
    path("inbox/counts/", lists.list_counts, name="inbox_counts"),
    path("inbox/drafts/<id:outgoing_id>/", compose.draft_detail, name="draft"),
    path("inbox/drafts/<id:outgoing_id>/discard/", compose.draft_discard, name="draft_discard"),
    path(
        "inbox/drafts/<id:outgoing_id>/files/", compose.draft_attachments, name="draft_attachments"
    ),
    path(
        "inbox/drafts/<id:outgoing_id>/retry/", compose.outgoing_retry_view, name="outgoing_retry"
    ),
    path("inbox/drafts/<id:outgoing_id>/save/", compose.draft_save, name="draft_save"),
    path("inbox/drafts/<id:outgoing_id>/send/", compose.draft_send, name="draft_send"),
    path("inbox/drafts/<id:outgoing_id>/undo/", compose.outgoing_undo_view, name="outgoing_undo"),
    path("inbox/m/<id:message_id>/html/", conversation.message_html_view, name="message_html"),
    path("inbox/new/", compose.compose_new, name="compose_new"),
    path("inbox/notifications/", notifications.notification_list, name="notifications"),
    path("inbox/notifications/read/", notifications.notifications_read, name="notifications_read"),
    path(
        "inbox/notifications/settings/",
        notifications.notification_settings,
        name="notification_settings",
    ),
    path(
        "inbox/saved-replies/<id:saved_reply_id>/insert/",
        compose.saved_reply_insert,
        name="saved_reply_insert",
    ),
    path("inbox/tags/", rules.tags_manage, name="tags_manage"),
    path("inbox/tags/<id:tag_id>/", rules.tag_edit, name="tag_edit"),
    path("mailboxes/", mailboxes.mailbox_list, name="mailboxes"),
    path("mailboxes/<id:mailbox_id>/", mailboxes.mailbox_edit, name="mailbox_edit"),
    path(
        "mailboxes/<id:mailbox_id>/automatic/",
        automatic.mailbox_automatic,
        name="mailbox_automatic",
    ),
    path("mailboxes/<id:mailbox_id>/delete/", mailboxes.mailbox_delete, name="mailbox_delete"),
    path(
        "mailboxes/<id:mailbox_id>/oauth/disconnect/",
        oauth.oauth_disconnect,
        name="oauth_disconnect",
    ),
    path(
        "mailboxes/<id:mailbox_id>/oauth/reconnect/", oauth.oauth_reconnect, name="oauth_reconnect"
    ),
    path("mailboxes/<id:mailbox_id>/pause/", mailboxes.mailbox_pause, name="mailbox_pause"),
    path("mailboxes/<id:mailbox_id>/rules/", rules.mailbox_rules, name="mailbox_rules"),
    path(
        "mailboxes/<id:mailbox_id>/signature/",
        mailboxes.mailbox_signature_edit,
        name="mailbox_signature",
    ),
    path("mailboxes/add/", mailboxes.mailbox_add, name="mailbox_add"),
    path("mailboxes/oauth/<str:provider>/callback/", oauth.oauth_callback, name="oauth_callback"),
    path("mailboxes/oauth/<str:provider>/connect/", oauth.oauth_connect, name="oauth_connect"),
    path("mailboxes/rules/<id:rule_id>/", rules.rule_edit, name="rule_edit"),
    path("saved-replies/", saved_replies.saved_reply_list, name="saved_replies"),
    path(
        "saved-replies/<id:saved_reply_id>/",
        saved_replies.saved_reply_edit,
        name="saved_reply_edit",
    ),
    path(
        "saved-replies/<id:saved_reply_id>/delete/",
        saved_replies.saved_reply_remove,
        name="saved_reply_delete",
    ),
    path("saved-replies/add/", saved_replies.saved_reply_add, name="saved_reply_add"),
    # Public: the rating links of the closing mail (a signed token, no account).
    path("satisfaction/<str:token>/", automatic.satisfaction, name="satisfaction"),
]
